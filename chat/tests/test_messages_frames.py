"""A commit's envelopes for a room travel as ``messages`` frames that daphne will send (chat.writer.messages_frames)."""

import json
import uuid

from django.conf import settings

from chat.writer import messages_frames

ROOM = str(uuid.uuid4())


def items(*sizes: int) -> list[str]:
    return [json.dumps({"id": index, "ciphertext": "A" * size}) for index, size in enumerate(sizes)]


def test_a_batch_that_fits_is_one_frame_with_every_envelope_in_order() -> None:
    [frame] = messages_frames(ROOM, items(10, 20, 30))
    assert json.loads(frame) == {
        "type": "messages",
        "room": ROOM,
        "envelopes": [json.loads(i) for i in items(10, 20, 30)],
    }
    assert frame.startswith('{"type": "messages"')  # as json.dumps writes it: the load generator matches this


def test_a_batch_over_half_the_message_limit_is_split_in_order_and_every_frame_fits() -> None:
    budget = settings.WEBSOCKET_MAX_MESSAGE_BYTES // 2
    envelopes = items(*[40_000] * 9, 150_000, 10)  # one of them alone is over the budget
    frames = messages_frames(ROOM, envelopes)
    decoded = [json.loads(frame) for frame in frames]
    assert [env for frame in decoded for env in frame["envelopes"]] == [json.loads(i) for i in envelopes]
    assert all(frame["type"] == "messages" and frame["room"] == ROOM for frame in decoded)
    assert all(len(frame) <= budget or len(json.loads(frame)["envelopes"]) == 1 for frame in frames)
    assert all(len(frame.encode()) <= settings.WEBSOCKET_MAX_MESSAGE_BYTES for frame in frames)
    assert len(frames) == 5  # 3 + 3 + 3 envelopes of 40 kB, the large one alone, then the small one
