"""The encrypted chat in real browsers: rooms, members, history, direct conversations, and what the server sees.

Every person is a separate browser context (another device). The security tests look for the plaintexts where the
server or an outsider could see them: every WebSocket frame, and every cell of the database (tests/dbscan.py).
"""

from __future__ import annotations

import json

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from playwright.sync_api import expect

from accounts.models import User
from chat.models import Envelope, Room
from chat.selectors import envelope_json
from tests import reference_crypto as ref
from tests import reference_envelope as ref_envelope
from tests.browser.accounts import api_get
from tests.browser.chat import (
    CHAT_TIMEOUT_MS,
    FAILED,
    PASSWORD,
    PENDING,
    SENT,
    People,
    accept_invitation,
    add_member,
    connection,
    create_room,
    current_room_id,
    expect_connected,
    expect_texts,
    expect_transcript_loaded,
    invitation,
    member_item,
    member_items,
    message,
    messages,
    open_chat,
    open_room,
    pair_in_a_room,
    relayed_envelopes,
    remove_member,
    room_link,
    rooms_nav,
    send_message,
    send_quickly,
    sent_client_ids,
    share_room,
    snapshot,
    start_socket,
    stop_socket,
    texts,
    title,
    transcript,
    user_id,
    wait_for_envelopes,
    warnings,
)
from tests.dbscan import describe, find_in, scan_database

pytestmark = pytest.mark.usefixtures("transactional_db")


def test_members_exchange_messages_and_a_signed_in_outsider_receives_nothing(people: People) -> None:
    alice, bob, carol = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("carol")
    room_id = create_room(alice, "Garden plans")
    add_member(alice, bob.username)
    accept_invitation(bob, "Garden plans")
    # Carol, signed in but not a member, connects after the room exists and knows its address.
    open_chat(carol, f"/rooms/{room_id}/")
    expect(transcript(carol.page)).to_be_hidden()

    hello = "Tulips go by the north fence — alice"
    reply = "Then the roses by the gate, bob"
    send_message(alice, hello)
    expect_texts(bob.page, [hello])
    send_message(bob, reply)
    expect_texts(alice.page, [hello, reply])
    expect_texts(bob.page, [hello, reply])
    expect(message(bob.page, hello).locator(".sender")).to_have_text(alice.username)
    expect(message(alice.page, reply).locator(".sender")).to_have_text(bob.username)
    wait_for_envelopes(alice, room_id, 2)

    # Asking for the room outright is refused too.
    for op in ({"op": "history", "before": None, "limit": 50}, {"op": "sync", "after": 0}):
        answer = carol.page.evaluate(
            "(frame) => window.securechat.socket.request(frame).then(() => 'answered', (error) => error.code)",
            {**op, "room": room_id},
        )
        assert answer == "not_member", op
    expect(room_link(carol.page, "Garden plans")).to_have_count(0)
    expect(transcript(carol.page)).to_be_hidden()

    received = carol.chat_frames("received")
    readies = [frame for frame in received if frame.get("type") == "ready"]
    assert len(readies) >= 2, f"carol's sockets before and after the room existed were captured: {received}"
    assert [room for ready in readies for room in ready["rooms"]] == []
    assert [frame for frame in received if frame.get("type") in ("messages", "envelopes", "typing", "room")] == []
    assert [frame for frame in received if room_id in json.dumps(frame) and frame.get("type") != "error"] == []
    for frame in carol.frames:
        assert hello not in frame.payload and reply not in frame.payload


def test_messages_typed_in_quick_succession_arrive_in_the_order_typed(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = share_room(alice, bob, "Garden plans")
    typed = ["Tomatoes go in on Saturday", "then the beans", "and the seedlings last"]
    # Enter after Enter, without waiting for the server: the first send is also the first to look up the keys.
    for text in typed:
        send_message(alice, text, wait=False)
    expect_texts(bob.page, typed)
    expect_texts(alice.page, typed)
    for text in typed:
        expect(message(alice.page, text)).to_have_class(SENT, timeout=CHAT_TIMEOUT_MS)
    stored = [envelope["client_id"] for envelope in relayed_envelopes(bob, room_id)]
    assert stored == sent_client_ids(alice)  # stored (ids ascending) in the order the page transmitted them


def test_history_shows_after_a_reload_and_in_a_fresh_browser_after_log_in(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = share_room(alice, bob, "Book club")
    history = ["Chapter one drags a little", "It picks up in chapter three", "Agreed — see you Thursday"]
    send_message(alice, history[0])
    send_message(bob, history[1])
    send_message(alice, history[2])

    alice.page.reload()
    expect_connected(alice.page)
    expect(title(alice.page)).to_have_text("Book club")
    expect_texts(alice.page, history)

    # Bob on another device: nothing in this browser's IndexedDB until he logs in.
    elsewhere = people.log_in(bob.username)
    open_room(elsewhere, "Book club")
    assert current_room_id(elsewhere.page) == room_id
    expect_texts(elsewhere.page, history)
    expect(messages(elsewhere.page).locator(".sender")).to_have_text([alice.username, "You", alice.username])
    expect(messages(elsewhere.page)).to_have_class([SENT] * 3)
    expect(warnings(elsewhere.page)).to_have_count(0)
    # Each day under a separator with its date, as the reader's browser writes it (computed from the messages' and
    # the lines' own times: a run that crosses midnight has two).
    days = elsewhere.page.evaluate(
        """() => [...new Set([...document.querySelectorAll("article.message time, .roster-line time")].map((t) =>
            new Intl.DateTimeFormat([], {weekday: "long", day: "numeric", month: "long", year: "numeric"})
                .format(new Date(t.dateTime))))]"""
    )
    assert len(days) >= 1
    expect(elsewhere.page.get_by_role("separator")).to_have_text(days)


def test_no_plaintext_in_any_websocket_frame_or_anywhere_in_the_database(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = share_room(alice, bob, "Quiet room")
    # Distinctive, with non-ASCII and characters JSON, URL and HTML encode differently.
    secrets_ = {
        "alice's text": 'Zebra-9 meets Quokka at dawn: <pier 7> & "bring" the ünicorn',
        "bob's text": "Marmalade-42 confirms; the parcel is under the blue bench",
        "alice's reply": "Xylophone protocol engaged — 17 ♫ notes",
    }
    send_message(alice, secrets_["alice's text"])
    send_message(bob, secrets_["bob's text"])
    send_message(alice, secrets_["alice's reply"])
    expect_texts(bob.page, list(secrets_.values()))
    expect_texts(alice.page, list(secrets_.values()))

    stored = list(Envelope.objects.filter(room_id=room_id).order_by("id"))
    assert len(stored) == 3
    ciphertexts = {f"ciphertext {e.id}": bytes(e.ciphertext) for e in stored}

    # Every frame either browser sent or received, both directions: ciphertext yes, plaintext never.
    frames = alice.frames + bob.frames
    assert {f.direction for f in frames} == {"sent", "received"}
    for frame in frames:
        assert find_in(frame.payload, secrets_) == [], f"plaintext in a frame {frame.direction}: {frame.payload[:200]}"
    carried = [f for f in frames if find_in(f.payload, ciphertexts)]
    assert {f.direction for f in carried} == {"sent", "received"}, "the capture saw the envelopes go both ways"

    findings = scan_database(secrets_)
    assert findings == [], describe(findings)
    found = scan_database(ciphertexts)
    assert {(f.secret, f.table, f.column) for f in found} >= {
        (name, Envelope._meta.db_table, "ciphertext") for name in ciphertexts
    }, describe(found)

    # And what is stored is these very messages: bob's keys, recomputed from his password, open them.
    own = api_get(bob.page, bob.base_url, "/api/accounts/me")["user"]
    bob_keys = ref.account_secrets(PASSWORD, own).identity
    senders = {u.pk: u for u in User.objects.filter(username__in=[alice.username, bob.username])}
    opened = [
        ref_envelope.open_envelope(
            envelope_json(e),
            my_id=own["id"],
            agreement_key=bob_keys.agreement_key,
            signing_public_key=Ed25519PublicKey.from_public_bytes(
                bytes(senders[e.sender_id].identity.signing_public_key)
            ),
            expected_room=room_id,
            expected_sender=e.sender_id,
        )
        for e in stored
    ]
    assert opened == list(secrets_.values())


def test_an_envelope_altered_in_the_database_shows_as_a_failed_verification_warning(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = share_room(alice, bob, "Tamper test")
    altered = "Pay the invoice to account 1234 (ciphertext altered)"
    forged = "The meeting moved to Friday (signature swapped)"
    untouched = "This one nobody touched"
    for text in (altered, forged, untouched):
        send_message(alice, text)
    expect_texts(bob.page, [altered, forged, untouched])

    first, second, third = Envelope.objects.filter(room_id=room_id).order_by("id")
    ciphertext = bytearray(first.ciphertext)
    ciphertext[len(ciphertext) // 2] ^= 0x01
    first.ciphertext = bytes(ciphertext)
    first.save(update_fields=["ciphertext"])
    second.signature = bytes(third.signature)  # a real signature of alice's, over another envelope
    second.save(update_fields=["signature"])

    bob.page.reload()
    expect_connected(bob.page)
    expect_transcript_loaded(bob.page)
    expect(messages(bob.page)).to_have_count(3)
    expect(messages(bob.page)).to_have_class([FAILED, FAILED, SENT])
    reason = "its signature does not match the sender's key — it may have been forged or altered"
    expect(warnings(bob.page)).to_have_text([f"⚠ Message not shown: failed verification — {reason}."] * 2)
    expect(warnings(bob.page).first).to_be_visible()
    expect(messages(bob.page).first.locator(".sender")).to_have_text(alice.username)
    expect_texts(bob.page, [untouched])
    content = bob.page.content() + bob.page.locator("body").inner_text()
    assert altered not in content and forged not in content
    snapshot(bob.page, "failed-verification")


def test_history_pages_back_fifty_at_a_time_by_button_and_by_scrolling(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    room_id = create_room(alice, "Long thread")
    add_member(alice, bob.username)
    sent = [f"message number {n:02d}" for n in range(1, 61)]
    send_quickly(alice, room_id, sent)
    expect_texts(alice.page, sent)

    # Bob was invited before the messages (they are wrapped for him) and accepts on a freshly loaded page: nothing
    # reached him live, so the room pages from the server.
    open_chat(bob)
    accept_invitation(bob, "Long thread")
    expect_texts(bob.page, sent[10:])
    expect(bob.page.locator(".transcript-note")).to_have_count(0)
    bob.page.get_by_role("button", name="Load older messages").click()
    expect_texts(bob.page, sent)
    expect(bob.page.locator(".transcript-note")).to_have_text("This is the beginning of the conversation.")
    expect(bob.page.get_by_role("button", name="Load older messages")).to_be_hidden()

    # Alice, after a reload, scrolls to the top instead.
    alice.page.reload()
    expect_connected(alice.page)
    expect_texts(alice.page, sent[10:])
    expect(alice.page.get_by_role("button", name="Load older messages")).to_be_visible()
    transcript(alice.page).evaluate("(node) => { node.scrollTop = 0; }")
    expect_texts(alice.page, sent)
    expect(alice.page.locator(".transcript-note")).to_have_text("This is the beginning of the conversation.")
    snapshot(alice.page, "history-paged")


def test_a_member_added_later_sees_only_messages_from_their_joining_on(people: People) -> None:
    alice, bob, carol = people.sign_up("alice"), people.sign_up("bob"), people.sign_up("carol")
    room_id = share_room(alice, bob, "Project X")
    before = ["Before carol: the budget is 40k", "Before carol: keep it quiet"]
    send_message(alice, before[0])
    send_message(bob, before[1])

    add_member(alice, carol.username)
    expect(invitation(carol.page, "Project X")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(member_item(bob.page, carol.username)).to_contain_text("invited")  # bob's open page learns of her at once
    after = ["Welcome carol!", "Hi carol, glad you are here"]
    send_message(alice, after[0])
    send_message(bob, after[1])  # bob's page may still wrap for two: the server says re-wrap for three
    expect_texts(alice.page, before + after)
    expect_texts(bob.page, before + after)
    assert relayed_envelopes(carol, room_id) == []  # invited, not yet a member: nothing of the room reached her

    # Invited before the welcome messages, she reads them once she accepts; nothing from before.
    accept_invitation(carol, "Project X")
    expect_texts(carol.page, after)
    expect(carol.page.locator(".transcript-note")).to_have_text(
        "Messages from before you joined are not available to you."
    )
    expect(warnings(carol.page)).to_have_count(0)
    expect(carol.page.get_by_role("button", name="Load older messages")).to_be_hidden()
    for frame in carol.chat_frames("received"):
        for envelope in frame.get("items", []) + ([frame["envelope"]] if "envelope" in frame else []):
            assert user_id(carol) in envelope["wrap_ids"], "carol was sent an envelope not wrapped for her"


def test_membership_changes_reach_open_pages_without_a_reload(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    bob.page.evaluate("() => { window.notReloaded = true; }")
    room_id = create_room(alice, "Standup")
    expect(room_link(bob.page, "Standup")).to_have_count(0)

    add_member(alice, bob.username)
    accept_invitation(bob, "Standup")
    expect(member_items(bob.page)).to_have_count(2)
    send_message(alice, "Standup starts now")
    expect_texts(bob.page, ["Standup starts now"])

    remove_member(alice, bob.username)
    expect(room_link(bob.page, "Standup")).to_have_count(0)
    expect(bob.page.get_by_role("status").filter(has_text="You are no longer a member of Standup.")).to_be_visible()
    expect(transcript(bob.page)).to_be_hidden()
    expect(member_items(alice.page)).to_have_count(1)
    assert bob.page.evaluate("() => window.notReloaded") is True

    # After the removal bob gets nothing of the room. To know nothing is still on its way, send him a later event:
    # alice's message reaches every socket of the room before the next room is created and he is invited to it.
    send_message(alice, "Now without bob")
    wait_for_envelopes(alice, room_id, 2)
    create_room(alice, "Sync point")
    add_member(alice, bob.username)
    expect(invitation(bob.page, "Sync point")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    frames = bob.chat_frames("received")
    removed_at = next(i for i, f in enumerate(frames) if f.get("type") == "room" and f.get("event") == "removed")
    assert frames[removed_at]["room"] == {"id": room_id}
    assert [f for f in frames[removed_at:] if f.get("room") == room_id or f.get("type") == "messages"] == []
    assert [f for f in frames[:removed_at] if f.get("type") == "messages"], "bob did get the room's earlier message"
    assert bob.page.evaluate("() => window.notReloaded") is True


def test_a_direct_conversation_is_one_room_for_the_pair(people: People) -> None:
    alice, bob = people.sign_up("alice"), people.sign_up("bob")
    alice.page.get_by_label("Talk privately with", exact=True).fill(bob.username)
    alice.page.get_by_role("button", name="Start conversation").click()
    expect(title(alice.page)).to_have_text(bob.username)
    expect_transcript_loaded(alice.page)
    room_id = current_room_id(alice.page)
    expect(alice.page.get_by_role("button", name="Leave room")).to_be_hidden()

    # They share no room: it is a request bob accepts (shown under alice's name), not a room of his yet.
    expect(invitation(bob.page, alice.username)).to_contain_text("wants to talk privately", timeout=CHAT_TIMEOUT_MS)
    expect(room_link(bob.page, alice.username)).to_have_count(0)
    assert accept_invitation(bob, alice.username) == room_id
    send_message(alice, "Just between us: the surprise party is on Saturday")
    send_message(bob, "My lips are sealed")
    expect_texts(bob.page, ["Just between us: the surprise party is on Saturday", "My lips are sealed"])
    expect_texts(alice.page, ["Just between us: the surprise party is on Saturday", "My lips are sealed"])

    # Starting it again, from either side, opens the same room.
    for person, other in ((alice, bob), (bob, alice)):
        open_chat(person)
        person.page.get_by_label("Talk privately with", exact=True).fill(other.username)
        person.page.get_by_role("button", name="Start conversation").click()
        expect(title(person.page)).to_have_text(other.username)
        assert current_room_id(person.page) == room_id
        expect(rooms_nav(person.page).get_by_role("link")).to_have_count(1)
        expect_texts(person.page, ["Just between us: the surprise party is on Saturday", "My lips are sealed"])
    assert Room.objects.filter(kind=Room.Kind.DIRECT).count() == 1


def test_a_message_shows_as_pending_until_the_server_acknowledges_it(people: People) -> None:
    alice, bob, _ = pair_in_a_room(people, "Patience")

    stop_socket(alice.page)
    pending = send_message(alice, "Sent while offline", wait=False)
    expect(pending).to_have_class(PENDING)
    expect(pending.locator(".state")).to_have_text("Sending…")
    expect(connection(alice.page)).to_have_text("Offline — reconnecting… · 1 message waiting to be sent")
    snapshot(alice.page, "pending")
    expect(messages(bob.page)).to_have_count(0)

    start_socket(alice.page)
    expect(pending).to_have_class(SENT, timeout=CHAT_TIMEOUT_MS)
    expect(pending.locator(".state")).to_have_count(0)
    expect(connection(alice.page)).to_have_text("Connected")
    expect_texts(bob.page, ["Sent while offline"])
    expect_texts(alice.page, ["Sent while offline"])


def test_a_16000_character_message_arrives_intact(people: People) -> None:
    alice, bob, _ = pair_in_a_room(people, "Long letters")
    line = 'Line with ünïcödé, "quotes", \\backslashes\\ and <angle> brackets.\n'
    text = (line * (16_000 // len(line) + 1))[:15_999] + "!"
    assert len(text) == 16_000
    composer = alice.page.get_by_label("Message", exact=True)
    assert composer.get_attribute("maxlength") == "16000"
    composer.fill(text)
    composer.press("Enter")
    expect(messages(alice.page)).to_have_class([SENT], timeout=CHAT_TIMEOUT_MS)
    expect(messages(bob.page)).to_have_count(1)
    expect(messages(bob.page)).to_have_class([SENT])
    # Shown as typed: each newline a line break of the rich text (so the rendered text, innerText, not textContent).
    for page in (bob.page, alice.page):
        assert texts(page).evaluate_all("(nodes) => nodes.map((node) => node.innerText)") == [text]
