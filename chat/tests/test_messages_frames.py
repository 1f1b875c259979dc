"""Lists of envelopes go out in frames daphne will send: ``messages`` frames and pages (chat.protocol)."""

import json
import uuid

from django.conf import settings

from chat.protocol import FRAME_HEADROOM, messages_frames, page_that_fits

ROOM = str(uuid.uuid4())


def items(*sizes: int) -> list[str]:
    return [json.dumps({"id": index, "ciphertext": "A" * size}) for index, size in enumerate(sizes)]


def test_a_batch_that_fits_is_one_frame_with_every_envelope_in_order() -> None:
    [frame] = messages_frames(ROOM, items(10, 20, 30), after=[7, 0, 1])
    assert json.loads(frame) == {
        "type": "messages",
        "room": ROOM,
        "after": 7,  # the room's envelope before the first of them
        "envelopes": [json.loads(i) for i in items(10, 20, 30)],
    }
    assert frame.startswith('{"type": "messages"')  # as json.dumps writes it: the load generator matches this


def test_a_batch_over_the_message_limit_is_split_in_order_and_every_frame_fits() -> None:
    budget = settings.WEBSOCKET_MAX_MESSAGE_BYTES - FRAME_HEADROOM
    envelopes = items(*[40_000] * 9, 150_000, 10)
    frames = messages_frames(ROOM, envelopes, after=[41, *range(len(envelopes) - 1)])  # ids 0, 1, …; before 0: 41
    decoded = [json.loads(frame) for frame in frames]
    assert [env for frame in decoded for env in frame["envelopes"]] == [json.loads(i) for i in envelopes]
    # Each frame follows on from the one before it.
    assert [frame["after"] for frame in decoded] == [41, 5, 8]
    assert all(frame["type"] == "messages" and frame["room"] == ROOM for frame in decoded)
    assert all(len(frame) <= budget + 100 for frame in frames)  # the envelopes, and the frame's own fields
    assert all(len(frame.encode()) <= settings.WEBSOCKET_MAX_MESSAGE_BYTES for frame in frames)
    assert [len(frame["envelopes"]) for frame in decoded] == [6, 3, 2]  # the 7th 40 kB one would not fit


def test_a_page_over_the_message_limit_keeps_the_end_it_pages_from_and_says_more_remain() -> None:
    page = [{"id": index, "ciphertext": "A" * 40_000} for index in range(8)]
    back, more_back = page_that_fits(page, False, keep_newest=True)
    ahead, more_ahead = page_that_fits(page, False, keep_newest=False)
    assert [json.loads(item)["id"] for item in back] == [2, 3, 4, 5, 6, 7] and more_back
    assert [json.loads(item)["id"] for item in ahead] == [0, 1, 2, 3, 4, 5] and more_ahead
    assert page_that_fits(page[:2], False, keep_newest=True)[1] is False  # a page that fits is left whole
