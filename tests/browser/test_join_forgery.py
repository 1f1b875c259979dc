"""Playing the malicious server against the invite-link page, with the genuine JavaScript: a room the server makes up
around a genuine sealed name. From the third adversarial review of signed rosters: the name opened through the link,
so the page offered "Join <the real name>", and the visitor's join sealed the link's secret for the server's account.
"""

from __future__ import annotations

import base64
import json
import re
import time
from typing import Any

import pytest
from playwright.sync_api import Request, Route, expect

from accounts.models import User
from accounts.selectors import public_identity_json
from accounts.tests.factories import identity_keys
from chat.models import Membership
from tests import reference_roster as ref
from tests.browser.chat import CHAT_TIMEOUT_MS, People, create_room
from tests.browser.roster import entries, invite_link
from tests.browser.test_roster_attacks import ghost

pytestmark = pytest.mark.usefixtures("transactional_db")
LINKS = re.compile(r"/api/links/")
KEYS = re.compile(r"/api/keys\?")
NAME = "Board of directors"


def forged_around(room_id: str, owner: User, intruder: User) -> dict[str, Any]:
    """The room's create made again by ``intruder`` (an account whose keys the server holds): the same room id, seq
    and open link, the owner and the intruder as its members, and the owner's genuine sealed name in it, its
    ``wrap_ids`` rewritten to list the intruder too. Served as the server serves an entry."""
    genuine = json.loads(entries(room_id)[0].body)
    assert genuine["op"] == "create" and genuine["meta"]["link_wrap"], "the room opened its link at once"
    members = sorted([(owner.pk, owner.identity.key_version), (intruder.pk, intruder.identity.key_version)])
    body = ref.create_body(
        room=room_id,
        at=int(time.time() * 1000),
        actor=intruder.pk,
        actor_key=intruder.identity.key_version,
        kind="group",
        members=members,
        link=genuine["link"],
    )
    ids = [member for member, _ in members]
    wraps = base64.b64encode(bytes(ref.WRAP_BYTES * len(ids))).decode()
    body["meta"] = {**genuine["meta"], "wrap_ids": ids, "wraps": wraps}
    signing, _ = identity_keys(intruder.username, intruder.identity.key_version)
    wire = ref.sign(body, signing)
    # Every rule of the chain holds, and every signature is genuine: only the sealed name can give it away.
    keys = {
        user.pk: identity_keys(user.username, user.identity.key_version)[0].public_key() for user in (owner, intruder)
    }
    ref.verify_chain([wire], lambda user, _version: keys.get(user))
    return {**wire, "after": 0, "server_time": "2026-01-01T00:00:00Z"}


def forged_actor(wire: dict[str, Any]) -> int:
    return json.loads(wire["body"])["actor"]


def test_a_room_the_server_forges_around_a_genuine_name_is_not_offered_for_joining(people: People) -> None:
    alice, visitor = people.sign_up("alice"), people.sign_up("visitor")
    room_id = create_room(alice, NAME, link=True)
    url = invite_link(alice.page).inner_text()
    owner = User.objects.get(username=alice.username)
    forged = forged_around(room_id, owner, ghost())

    intruder_keys = public_identity_json(User.objects.get(id=forged_actor(forged)).identity)

    def serve_forged(route: Route) -> None:
        route.fulfill(json={"room": room_id, "entries": [forged], "more": False})

    def serve_intruders_keys(route: Route) -> None:
        # The directory answers only for the room's members: the server vouches for its own account as well.
        answer = route.fetch().json()
        route.fulfill(json={"keys": [*answer["keys"], intruder_keys]})

    posted: list[Request] = []
    visitor.page.on("request", lambda sent: posted.append(sent) if sent.method == "POST" else None)
    visitor.page.route(LINKS, serve_forged)
    visitor.page.route(KEYS, serve_intruders_keys)
    visitor.page.goto(url)
    page = visitor.page
    error = page.locator("#join-error")
    # The page has decided once it shows an error or names the room.
    page.wait_for_function(
        "() => document.getElementById('join-error').textContent"
        " || document.getElementById('join-title').textContent !== 'Join a room'",
        timeout=CHAT_TIMEOUT_MS,
    )
    expect(page.get_by_role("heading", name=f"Join {NAME}")).to_have_count(0)
    expect(error).to_contain_text(re.compile(r"cannot be (read|confirmed) through this link"))
    expect(page.get_by_role("button", name="Join room")).to_be_disabled()
    assert not [sent.url for sent in posted if "/roster" in sent.url], "a join entry left the visitor's page"
    assert not [f for f in visitor.chat_frames("sent") if f.get("op") == "append"]
    assert not Membership.objects.filter(room_id=room_id, user__username=visitor.username).exists()

    # The same page, served the genuine chain by an honest server, offers the room by its name.
    page.unroute(LINKS, serve_forged)
    page.unroute(KEYS, serve_intruders_keys)
    page.reload()
    expect(page.get_by_role("heading", name=f"Join {NAME}")).to_be_visible(timeout=CHAT_TIMEOUT_MS)
    expect(page.get_by_role("button", name="Join room")).to_be_enabled()
