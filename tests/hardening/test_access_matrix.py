"""Who may do what: every HTTP route and every WebSocket op, for every role, in tables read at a glance.

Roles, towards one room (tests/hardening/roles.py):

    anonymous   never signed in
    outsider    signed in, never a member
    removed     was a member until the owner removed them
    member      a member
    owner       the room's owner (the room is joinable by link)
    staff       is_staff and is_superuser, not a member: sees the console, never the chat's contents

HTTP outcomes:

    200, 201, 204, 403, 404   that status
    NO_AUTH    401 {"error": {"code": "not_authenticated"}}
    NO_ROOM    404 {"error": {"code": "not_member"}}: byte for byte what a room that does not exist answers
    DENIED     403 {"error": {"code": "forbidden"}}: a member asking for what only the owner may do
    LOGIN      302 to the log-in page (?next=…)      OUT     302 to the log-in page (signed out)
    ADMIN      302 to the console's log-in page      INDEX   302 to the console's index
    CHANGE     302 to the object's change page

A route added to the URLconf without a row here fails ``test_every_route_is_in_the_matrix``.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.http import HttpResponse
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve

from accounts.models import User
from accounts.tests.factories import b64, new_password_body, sealed, signup_body
from chat import protocol
from chat.models import Envelope, RosterEntry
from chat.tests.factories import envelope as make_envelope
from chat.tests.factories import send_frame
from chat.tests.rosters import new_link
from securechat.routing import websocket_urlpatterns
from tests import reference_roster as ref
from tests.hardening.roles import (  # noqa: F401 (fixtures)
    BYSTANDER,
    ROLES,
    SIGNED_IN,
    Scene,
    auth_key,
    fast_hashing_fixture,
    fresh_layer_fixture,
    in_db,
    isolated_cache_fixture,
    live_scene_fixture,
    next_of,
    open_socket,
    recovery_auth,
    register_user,
    scene_fixture,
)
from toolkit.errors import HTTP_STATUS, ErrorCode


@dataclass(frozen=True)
class Redirect:
    pattern: str
    name: str

    def __repr__(self) -> str:
        return self.name


NO_AUTH = ErrorCode.NOT_AUTHENTICATED
NO_ROOM = ErrorCode.NOT_MEMBER
DENIED = ErrorCode.FORBIDDEN
NO_USER = ErrorCode.NOT_FOUND
LOGIN = Redirect(r"/accounts/login/\?next=", "LOGIN")
OUT = Redirect(r"/accounts/login/$", "OUT")
ADMIN = Redirect(r"/admin/login/\?next=", "ADMIN")
INDEX = Redirect(r"/admin/$", "INDEX")
CHANGE = Redirect(r"/admin/\w+/\w+/[^/]+/change/$", "CHANGE")


@dataclass(frozen=True)
class Row:
    method: str
    path: str
    body: str | None
    expected: dict[str, Any]

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


def rows(*table: tuple[Any, ...]) -> list[Row]:
    return [Row(method, path, body, dict(zip(ROLES, outcomes, strict=True))) for method, path, body, *outcomes in table]


def admin_rows(*table: tuple[Any, ...]) -> list[Row]:
    return rows(*((method, path, body, *[non_staff] * 5, staff) for method, path, body, non_staff, staff in table))


# fmt: off
HTTP_POLICY = rows(
    #method    path                                body         anonymous  outsider  removed  member  owner  staff
    ("GET",    "/",                                None,        200,       200,      200,     200,    200,   200),
    ("GET",    "/healthz",                         None,        200,       200,      200,     200,    200,   200),
    ("GET",    "/accounts/signup/",                None,        200,       200,      200,     200,    200,   200),
    ("GET",    "/accounts/login/",                 None,        200,       200,      200,     200,    200,   200),
    ("GET",    "/accounts/recover/",               None,        200,       200,      200,     200,    200,   200),
    ("GET",    "/accounts/password/",              None,        LOGIN,     200,      200,     200,    200,   200),
    ("GET",    "/accounts/reset/",                 None,        LOGIN,     200,      200,     200,    200,   200),
    ("POST",   "/accounts/logout/",                None,        OUT,       OUT,      OUT,     OUT,    OUT,   OUT),
    # Sign-up, pre-login, log-in (as dave) and recovery (of dave's account) are open to anyone.
    ("POST",   "/api/accounts/signup",             "signup",    201,       201,      201,     201,    201,   201),
    ("POST",   "/api/accounts/prelogin",           "prelogin",  200,       200,      200,     200,    200,   200),
    ("POST",   "/api/accounts/login",              "login",     200,       200,      200,     200,    200,   200),
    ("POST",   "/api/accounts/logout",             None,        204,       204,      204,     204,    204,   204),
    ("POST",   "/api/accounts/recover/begin",      "recover",   200,       200,      200,     200,    200,   200),
    ("POST",   "/api/accounts/recover/finish",     "recovered", 200,       200,      200,     200,    200,   200),
    ("GET",    "/api/accounts/me",                 None,        NO_AUTH,   200,      200,     200,    200,   200),
    ("POST",   "/api/accounts/password",           "password",  NO_AUTH,   200,      200,     200,    200,   200),
    ("POST",   "/api/accounts/reset",              "reset",     NO_AUTH,   200,      200,     200,    200,   200),
    ("GET",    "/api/accounts/trust",              None,        NO_AUTH,   200,      200,     200,    200,   200),
    ("PUT",    "/api/accounts/trust",              "trust",     NO_AUTH,   200,      200,     200,    200,   200),
    # The key directory is for signed-in users (see test_enumeration.py).
    ("GET",    "/api/keys?ids={ids}",              None,        NO_AUTH,   200,      200,     200,    200,   200),
    ("GET",    "/api/keys/dave",                   None,        NO_AUTH,   200,      200,     200,    200,   200),
    # The chat pages are shells: the same page for any room id, members or not (the socket decides).
    ("GET",    "/rooms/",                          None,        LOGIN,     200,      200,     200,    200,   200),
    ("GET",    "/rooms/{room}/",                   None,        LOGIN,     200,      200,     200,    200,   200),
    ("GET",    "/join/{token}/",                   None,        LOGIN,     200,      200,     200,    200,   200),
    # The invite-link page keeps the link's secret (in the fragment) and sends a signed-out visitor to log in itself.
    ("GET",    "/join/",                           None,        200,       200,      200,     200,    200,   200),
    ("GET",    "/api/rooms",                       None,        NO_AUTH,   200,      200,     200,    200,   200),
    ("GET",    "/api/rooms/{room}",                None,        NO_AUTH,   NO_ROOM,  NO_ROOM, 200,    200,   NO_ROOM),
    ("GET",    "/api/rooms/{room}/roster",         None,        NO_AUTH,   NO_ROOM,  NO_ROOM, 200,    200,   NO_ROOM),
    # Each role signs a rename of the room at its head: only the owner (or an admin) may make one.
    ("POST",   "/api/rooms/{room}/roster",         "rename",    NO_AUTH,   NO_ROOM,  NO_ROOM, DENIED, 200,   NO_ROOM),
    # A room with a roster is left with a signed entry; the unsigned leave is for rooms from before rosters.
    ("POST",   "/api/rooms/{room}/leave",          None,        NO_AUTH,   NO_ROOM,  NO_ROOM, DENIED, DENIED, NO_ROOM),
    # Invitations: each signed-in user's own list; accepting a room one is in already changes nothing; a group room
    # is declined with a signed leave, not this route (chat/tests/test_invitations.py has the invitees' side).
    ("GET",    "/api/invitations",                 None,        NO_AUTH,   200,      200,     200,    200,   200),
    ("POST",   "/api/rooms/{room}/accept",         None,        NO_AUTH,   NO_ROOM,  NO_ROOM, 200,    200,   NO_ROOM),
    ("POST",   "/api/rooms/{room}/decline",        None,        NO_AUTH,   NO_ROOM,  NO_ROOM, DENIED, DENIED, NO_ROOM),
    # Whoever holds the room's open invite link reads its chain (the key takes the link's secret); a removed
    # member who kept the link reads it too, until a member rotates it (chat/tests/test_rooms_api.py).
    ("GET",    "/api/links/{link}",                None,        NO_AUTH,   200,      200,     200,    200,   200),
    # Keys by id answer for people who are or were in a room with the asker; anyone else, as a user who does not exist.
    ("GET",    "/api/key-history?id={user}",       None,        NO_AUTH,   NO_USER,  200,     200,    200,   NO_USER),
    # Whoever holds the current link of a link room from before rosters may join it.
    ("POST",   "/api/join/{token}",                None,        NO_AUTH,   200,      200,     200,    200,   200),
)

# Every signed-in role but staff meets the console like anonymous: one column for them ("non-staff").
ADMIN_POLICY = admin_rows(
    #method  path                                           body         non-staff  staff
    ("GET",  "/admin/",                                     None,        ADMIN,     200),
    ("GET",  "/admin/login/",                               None,        200,       INDEX),
    # Everyone tries their own credentials (anonymous tries dave's): only staff get in.
    ("POST", "/admin/login/",                               "own-login", 200,       INDEX),
    ("POST", "/admin/logout/",                              None,        INDEX,     200),
    ("GET",  "/admin/password_change/",                     None,        ADMIN,     200),
    ("GET",  "/admin/password_change/done/",                None,        ADMIN,     200),
    ("GET",  "/admin/autocomplete/",                        None,        ADMIN,     403),
    ("GET",  "/admin/jsi18n/",                              None,        ADMIN,     200),
    ("GET",  "/admin/r/{user_type}/{user}/",                None,        ADMIN,     404),
    ("GET",  "/admin/chat/",                                None,        ADMIN,     200),
    ("GET",  "/admin/no/such/page/",                        None,        ADMIN,     404),
    # The ciphertext audit log, rooms and security events: staff read, nobody writes.
    ("GET",  "/admin/chat/envelope/",                       None,        ADMIN,     200),
    ("POST", "/admin/chat/envelope/",                       "export",    ADMIN,     200),
    ("GET",  "/admin/chat/envelope/add/",                   None,        ADMIN,     403),
    ("GET",  "/admin/chat/envelope/{envelope}/",            None,        ADMIN,     CHANGE),
    ("GET",  "/admin/chat/envelope/{envelope}/change/",     None,        ADMIN,     200),
    ("POST", "/admin/chat/envelope/{envelope}/change/",     "size",      ADMIN,     403),
    ("GET",  "/admin/chat/envelope/{envelope}/history/",    None,        ADMIN,     200),
    ("GET",  "/admin/chat/envelope/{envelope}/delete/",     None,        ADMIN,     403),
    ("POST", "/admin/chat/envelope/{envelope}/delete/",     "yes",       ADMIN,     403),
    ("GET",  "/admin/chat/room/",                           None,        ADMIN,     200),
    ("GET",  "/admin/chat/room/add/",                       None,        ADMIN,     403),
    ("GET",  "/admin/chat/room/{room}/",                    None,        ADMIN,     CHANGE),
    ("GET",  "/admin/chat/room/{room}/change/",             None,        ADMIN,     200),
    ("POST", "/admin/chat/room/{room}/change/",             "name",      ADMIN,     403),
    ("GET",  "/admin/chat/room/{room}/history/",            None,        ADMIN,     200),
    ("GET",  "/admin/chat/room/{room}/delete/",             None,        ADMIN,     403),
    ("GET",  "/admin/chat/rosterentry/",                    None,        ADMIN,     200),
    ("GET",  "/admin/chat/rosterentry/add/",                None,        ADMIN,     403),
    ("GET",  "/admin/chat/rosterentry/{entry}/",            None,        ADMIN,     CHANGE),
    ("GET",  "/admin/chat/rosterentry/{entry}/change/",     None,        ADMIN,     200),
    ("POST", "/admin/chat/rosterentry/{entry}/change/",     "seq",       ADMIN,     403),
    ("GET",  "/admin/chat/rosterentry/{entry}/history/",    None,        ADMIN,     200),
    ("GET",  "/admin/chat/rosterentry/{entry}/delete/",     None,        ADMIN,     403),
    ("GET",  "/admin/accounts/auditevent/",                 None,        ADMIN,     200),
    ("GET",  "/admin/accounts/auditevent/add/",             None,        ADMIN,     403),
    ("GET",  "/admin/accounts/auditevent/{event}/",         None,        ADMIN,     CHANGE),
    ("GET",  "/admin/accounts/auditevent/{event}/change/",  None,        ADMIN,     200),
    ("GET",  "/admin/accounts/auditevent/{event}/history/", None,        ADMIN,     200),
    ("GET",  "/admin/accounts/auditevent/{event}/delete/",  None,        ADMIN,     403),
    # Users: staff switch accounts on and off and grant console access; nothing lets them act as a user (no
    # password page, no new users, no renaming, no deleting: accounts/admin.py).
    ("GET",  "/admin/accounts/user/",                       None,        ADMIN,     200),
    ("GET",  "/admin/accounts/user/add/",                   None,        ADMIN,     403),
    ("GET",  "/admin/accounts/user/{user}/",                None,        ADMIN,     CHANGE),
    ("GET",  "/admin/accounts/user/{user}/change/",         None,        ADMIN,     200),
    ("GET",  "/admin/accounts/user/{user}/password/",       None,        ADMIN,     403),
    ("GET",  "/admin/accounts/user/{user}/history/",        None,        ADMIN,     200),
    ("GET",  "/admin/accounts/user/{user}/delete/",         None,        ADMIN,     403),
    ("GET",  "/admin/auth/group/",                          None,        ADMIN,     200),
    ("GET",  "/admin/auth/group/add/",                      None,        ADMIN,     200),
    ("GET",  "/admin/auth/group/{group}/",                  None,        ADMIN,     CHANGE),
    ("GET",  "/admin/auth/group/{group}/change/",           None,        ADMIN,     200),
    ("GET",  "/admin/auth/group/{group}/history/",          None,        ADMIN,     200),
    ("GET",  "/admin/auth/group/{group}/delete/",           None,        ADMIN,     200),
)
# fmt: on

ALL_ROWS = HTTP_POLICY + ADMIN_POLICY


def _without_username(body: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in body.items() if key != "username"}


def _own_name(role: str) -> str:
    return role if role != "anonymous" else BYSTANDER


def _rename(role: str, scene: Scene) -> dict[str, Any]:
    """A rename of the scene's room at its head, signed by ``role`` (anonymous sends the owner's)."""
    signer = scene.user(role) or scene.users["owner"]
    return {"entry": scene.chain.entry(signer, "rename", name=f"Renamed by {role}")}


BODIES: dict[str, Any] = {
    "signup": lambda role, scene: signup_body(f"new-{role}"),
    "prelogin": lambda role, scene: {"username": BYSTANDER},
    "login": lambda role, scene: {"username": BYSTANDER, "auth_key": b64(auth_key(BYSTANDER))},
    "recover": lambda role, scene: {"username": BYSTANDER, "recovery_auth": b64(recovery_auth(BYSTANDER))},
    "recovered": lambda role, scene: {
        "username": BYSTANDER,
        "recovery_auth": b64(recovery_auth(BYSTANDER)),
        **new_password_body(auth_key("new")),
    },
    "password": lambda role, scene: new_password_body(auth_key("new"), current_auth_key=b64(auth_key(_own_name(role)))),
    "reset": lambda role, scene: {
        **_without_username(signup_body("reset")),
        "current_auth_key": b64(auth_key(_own_name(role))),
        "trust_store": sealed(64),
    },
    "trust": lambda role, scene: {"version": 0, "sealed": sealed(64)},
    "rename": _rename,
    "own-login": lambda role, scene: {
        "username": _own_name(role),
        "password": b64(auth_key(_own_name(role))),
        "next": "/admin/",  # as the console's form sends it
    },
    "export": lambda role, scene: {
        "action": "export_csv",
        "_selected_action": [Envelope.objects.values("id")[0]["id"]],
    },
    "size": lambda role, scene: {"size": 1},
    "name": lambda role, scene: {"legacy_name": "Renamed"},
    "seq": lambda role, scene: {"seq": 9},
    "yes": lambda role, scene: {"post": "yes"},
}


def placeholders(scene: Scene, room: Any = None) -> dict[str, Any]:
    users = scene.users
    return {
        "room": room or scene.room.id,
        "token": scene.legacy.invite_token,
        "link": ref.link_address(scene.chain.link_secret),
        "entry": RosterEntry.objects.filter(room=scene.room).values_list("id", flat=True).first(),
        "ids": f"{users['owner'].pk},{users['member'].pk}",
        "envelope": scene.envelope.id,
        "user": users["owner"].pk,
        "user_type": ContentType.objects.get_for_model(User).pk,
        "event": users["owner"].audit_events.values_list("id", flat=True).first(),
        "group": scene.group.pk,
    }


FORM = "application/x-www-form-urlencoded"


def is_api(path: str) -> bool:
    return path.startswith("/api/") or path == "/healthz"


def send(scene: Scene, role: str, row: Row, room: Any = None, *, csrf: bool = False) -> HttpResponse:
    """``row``'s request as ``role``, in a savepoint rolled back after: every role meets the same scene.

    With ``csrf``, the client is checked like a browser and sends the token as the app does: the
    ``X-CSRFToken`` header for the API, the form field for pages and the console.
    """
    with transaction.atomic():
        client = scene.client(role, enforce_csrf_checks=csrf)
        token = {}
        if csrf:
            client.get("/")  # every page sets the CSRF cookie
            token = {"csrfmiddlewaretoken": client.cookies["csrftoken"].value}
        url = row.path.format(**placeholders(scene, room))
        body = BODIES[row.body](role, scene) if row.body else None
        if is_api(url):
            data = json.dumps(body) if body is not None else ""
            headers = {"X-CSRFToken": token["csrfmiddlewaretoken"]} if token else {}
            response = client.generic(row.method, url, data, content_type="application/json", headers=headers)
        elif row.method == "GET":
            response = client.get(url)
        else:  # pages and the console post forms
            response = client.generic(row.method, url, urlencode({**(body or {}), **token}, doseq=True), FORM)
        transaction.set_rollback(True)
    return response


def error_code(response: HttpResponse) -> str | None:
    if response.get("Content-Type") != "application/json" or not response.content:
        return None
    return json.loads(response.content).get("error", {}).get("code")


def describe(response: HttpResponse) -> str:
    """The answer in the table's vocabulary, for failure messages."""
    if response.status_code == 302:
        return f"302 → {response['Location']}"
    code = error_code(response)
    return f"{response.status_code} {code}" if code else str(response.status_code)


def matches(expected: Any, response: HttpResponse) -> bool:
    if isinstance(expected, Redirect):
        return response.status_code == 302 and re.match(expected.pattern, response["Location"]) is not None
    if isinstance(expected, ErrorCode):
        return response.status_code == HTTP_STATUS.get(expected, 400) and error_code(response) == expected
    return response.status_code == expected


def check_row(scene: Scene, row: Row, *, csrf: bool = False) -> None:
    answers = {role: send(scene, role, row, csrf=csrf) for role in ROLES}
    wrong = {
        role: f"expected {row.expected[role]!r}, got {describe(answers[role])}"
        for role in ROLES
        if not matches(row.expected[role], answers[role])
    }
    assert not wrong, f"{row.id}: {wrong}"


# --- HTTP -------------------------------------------------------------------------------


@pytest.mark.parametrize("row", ALL_ROWS, ids=lambda row: row.id)
def test_route_answers_each_role_as_the_matrix_says(scene: Scene, row: Row) -> None:
    check_row(scene, row)


# The console's room pages are for staff, who see every room's routing facts (not the chat's).
ROOM_ROWS = [row for row in HTTP_POLICY if "{room}" in row.path]


@pytest.mark.parametrize("row", ROOM_ROWS, ids=lambda row: row.id)
def test_a_room_you_are_not_in_answers_exactly_like_a_room_that_does_not_exist(scene: Scene, row: Row) -> None:
    unknown = uuid.uuid4()
    for role in ("anonymous", "outsider", "removed", "staff"):
        real, fake = send(scene, role, row), send(scene, role, row, room=unknown)
        assert real.status_code == fake.status_code, (role, describe(real), describe(fake))
        if is_api(row.path):
            assert real.content == fake.content, role


def test_only_members_see_the_room_in_their_list(scene: Scene) -> None:
    listed = {
        role: str(scene.room.id) in {room["id"] for room in scene.client(role).get("/api/rooms").json()["rooms"]}
        for role in SIGNED_IN
    }
    assert listed == {"outsider": False, "removed": False, "member": True, "owner": True, "staff": False}


def test_the_console_shows_staff_no_key_material(scene: Scene) -> None:
    """Staff see routing facts and ciphertext, never what would let them unwrap keys or test passwords."""
    owner = scene.users["owner"]
    identity = owner.identity
    secrets = {
        "key bundle": b64(bytes(identity.key_bundle_ciphertext)),
        "account key (password)": b64(bytes(identity.account_key_password_ciphertext)),
        "account key (recovery)": b64(bytes(identity.account_key_recovery_ciphertext)),
        "recovery hash": identity.recovery_auth_hash.split("$")[-1],
        "auth-key hash": owner.password.split("$")[-1],
    }
    staff = scene.client("staff")
    for url in [
        "/admin/accounts/user/",
        f"/admin/accounts/user/{owner.pk}/change/",
        f"/admin/accounts/user/{owner.pk}/password/",
        f"/admin/chat/room/{scene.room.id}/change/",
        f"/admin/chat/envelope/{scene.envelope.id}/change/",
        "/admin/accounts/auditevent/",
    ]:
        page = staff.get(url).content.decode()
        shown = [name for name, value in secrets.items() if value in page]
        assert not shown, f"{url} shows {shown}"


def test_staff_cannot_take_over_an_account_through_the_console(scene: Scene) -> None:
    owner, key = scene.users["owner"], b64(auth_key("chosen-by-staff"))
    scene.client("staff").post(
        f"/admin/accounts/user/{owner.pk}/password/", {"password1": key, "password2": key, "usable_password": "true"}
    )
    login = Client().post("/api/accounts/login", {"username": "owner", "auth_key": key}, "application/json")
    assert login.status_code == 400


def route_strings(patterns: list[URLPattern | URLResolver], prefix: str = "") -> set[str]:
    found: set[str] = set()
    for pattern in patterns:
        route = URLResolver._join_route(prefix, str(pattern.pattern))
        if isinstance(pattern, URLResolver):
            found |= route_strings(pattern.url_patterns, route)
        else:
            found.add(route)
    return found


def test_every_route_is_in_the_matrix() -> None:
    """A route added to any URLconf must get a row (and so a decision for every role) before it ships."""
    fake = {
        "room": uuid.uuid4(),
        "token": "t",
        "link": "k",
        "entry": 1,
        "ids": "1",
        "envelope": 1,
        "user": 1,
        "user_type": 1,
        "event": 1,
        "group": 1,
    }
    covered = {resolve(urlsplit(row.path.format(**fake)).path).route for row in ALL_ROWS}
    missing = route_strings(get_resolver().url_patterns) - covered
    assert not missing, f"routes without a row in the access matrix: {sorted(missing)}"


# --- WebSocket --------------------------------------------------------------------------
#
# Outcomes:
#   CLOSED    the handshake completes, then the socket is closed with 4401 (sign in first); nothing else
#   READY     `ready` without the room             IN_ROOM   `ready` listing the room
#   GONE      the socket, opened while a member, got {"type": "room", "event": "removed"} when removed
#   NO_ROOM   an `error` frame `not_member`, exactly as for a room that does not exist; nothing stored or relayed
#   ACK       `ack`, and the other member's socket gets the `message`
#   PAGE      `envelopes` holding the room's envelope
#   RELAYED   the other member's socket gets `typing`
#   ENTRIES   `roster` holding the room's whole chain
#   APPENDED  `appended`, and the other member's socket gets the entry in a `roster` frame
#   DENIED    an `error` frame `forbidden`: a member asking for what only the owner (or an admin) may do
#   LISTED    a `rooms` page (from the start) listing the room      UNLISTED  a `rooms` page without it
#   READ      `read` answering with the room's envelope as the read position, and the user's other socket told
#
# `append` is each role's signed rename of the room at its head.
#
# `removed*` is the removed member's socket that was already open when the owner removed them.

CLOSED, READY, IN_ROOM, GONE, ACK, PAGE, RELAYED = "CLOSED", "READY", "IN_ROOM", "GONE", "ACK", "PAGE", "RELAYED"
ENTRIES, APPENDED, LISTED, UNLISTED, READ = "ENTRIES", "APPENDED", "LISTED", "UNLISTED", "READ"
WS_ROLES = ("anonymous", "outsider", "removed", "removed*", "member", "owner", "staff")

# fmt: off
WS_POLICY = {
    # op          anonymous outsider  removed   removed*  member    owner     staff
    "connect":   (CLOSED,   READY,    READY,    GONE,     IN_ROOM,  IN_ROOM,  READY),
    "send":      (CLOSED,   NO_ROOM,  NO_ROOM,  NO_ROOM,  ACK,      ACK,      NO_ROOM),
    "sync":      (CLOSED,   NO_ROOM,  NO_ROOM,  NO_ROOM,  PAGE,     PAGE,     NO_ROOM),
    "history":   (CLOSED,   NO_ROOM,  NO_ROOM,  NO_ROOM,  PAGE,     PAGE,     NO_ROOM),
    "typing":    (CLOSED,   NO_ROOM,  NO_ROOM,  NO_ROOM,  RELAYED,  RELAYED,  NO_ROOM),
    "roster":    (CLOSED,   NO_ROOM,  NO_ROOM,  NO_ROOM,  ENTRIES,  ENTRIES,  NO_ROOM),
    "append":    (CLOSED,   NO_ROOM,  NO_ROOM,  NO_ROOM,  DENIED,   APPENDED, NO_ROOM),
    "rooms":     (CLOSED,   UNLISTED, UNLISTED, UNLISTED, LISTED,   LISTED,   UNLISTED),
    # No role here is invited to the room: nobody finds it among their invitations.
    "invitations": (CLOSED, UNLISTED, UNLISTED, UNLISTED, UNLISTED, UNLISTED, UNLISTED),
    "read":      (CLOSED,   NO_ROOM,  NO_ROOM,  NO_ROOM,  READ,     READ,     NO_ROOM),
}
# Every WebSocket route: /ws/chat/ follows WS_POLICY; the health probe answers anyone and closes.
WS_ROUTES = {"ws/chat/": WS_POLICY, "ws/healthz/": {"status": "ok"}}
# fmt: on


def test_every_websocket_route_and_op_is_in_the_matrix() -> None:
    assert {str(route.pattern) for route in websocket_urlpatterns} == set(WS_ROUTES)
    assert set(WS_POLICY) == {"connect", *protocol.OPS}


def frame_for(op: str, room: Any, actor: User, scene: Scene) -> dict[str, Any]:
    """``actor``'s frame for ``op`` to ``room``: a send wrapped for the members at the head, a rename at the head."""
    if op == "send":
        members = sorted({*scene.room_members(), actor.pk})
        return send_frame(room, make_envelope(room, actor.pk, members, head=scene.chain.head))
    if op == "append":
        return {"op": op, "room": str(room), "entry": scene.chain.entry(actor, "rename", name="Ours now")}
    if op in ("rooms", "invitations"):
        return {"op": op, "after": 0}
    if op == "read":
        return {"op": op, "room": str(room), "up_to": scene.envelope.id}
    return {"op": op, "room": str(room), **({"after": 0} if op == "sync" else {"from": 0} if op == "roster" else {})}


async def answer_to(communicator: Any, wait: float) -> dict[str, Any] | None:
    """The answer to the frame just sent (error, ack, envelopes, appended, a page of rooms or an answered roster
    page), skipping events; None if none comes."""
    while not await communicator.receive_nothing(timeout=wait):
        frame = await communicator.receive_json_from()
        if frame["type"] in ("error", "ack", "envelopes", "appended", "rooms", "invitations") or (
            frame["type"] in ("roster", "read") and frame.get("ref") is not None
        ):
            return frame
    return None


async def drain(communicator: Any, wait: float = 0.3) -> list[dict[str, Any]]:
    frames = []
    while not await communicator.receive_nothing(timeout=wait):
        frames.append(await communicator.receive_json_from())
    return frames


def mentions(frame: dict[str, Any], room_id: str) -> bool:
    room = frame.get("room")
    return room == room_id or (isinstance(room, dict) and room.get("id") == room_id)


@pytest.mark.parametrize("op", list(WS_POLICY))
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_websocket_op_answers_each_role_as_the_matrix_says(live_scene: Scene, sockets: Any, op: str) -> None:
    scene = live_scene
    room_id = str(scene.room.id)
    expected = dict(zip(WS_ROLES, WS_POLICY[op], strict=True))
    users = dict(scene.users)

    # Anonymous: the socket is closed before any op can be sent.
    anonymous = await open_socket(None)
    await anonymous.connect()
    closed = await anonymous.receive_output(timeout=3)
    await anonymous.disconnect()
    outcomes: dict[str, str] = {
        "anonymous": CLOSED if closed == {"type": "websocket.close", "code": 4401} else f"unexpected {closed}"
    }

    # removed*: a member whose socket is open while the owner removes them.
    users["removed*"] = await in_db(_register_member, scene, "ex-member")
    socket = {role: await sockets(users[role]) for role in WS_ROLES[1:]}
    await in_db(_remove, scene, "ex-member")
    assert await next_of(socket["removed*"], "room") == {"type": "room", "event": "removed", "room": {"id": room_id}}

    for role in WS_ROLES[1:]:
        communicator = socket[role]
        if op == "connect":
            ready_rooms = {room["id"] for room in communicator.ready["rooms"]}
            outcomes[role] = GONE if role == "removed*" else IN_ROOM if room_id in ready_rooms else READY
            continue
        before = await in_db(stored_rows)
        await communicator.send_json_to({**await in_db(frame_for, op, room_id, users[role], scene), "ref": role})
        # Typing is answered only when refused: wait briefly for that, long for the others' answers.
        answer = await answer_to(communicator, wait=0.5 if op == "typing" else 3)
        other = socket["owner" if role == "member" else "member"]
        if answer is None and op == "typing":
            relayed = await next_of(other, "typing")
            assert relayed == {"type": "typing", "room": room_id, "user": users[role].pk}
            outcomes[role] = RELAYED
        elif answer is not None and answer["type"] == "error" and answer["code"] == DENIED:
            assert await in_db(stored_rows) == before, "a refused entry was stored"
            outcomes[role] = DENIED
        elif answer is not None and answer["type"] == "error":
            assert answer["code"] == NO_ROOM, answer
            assert await in_db(stored_rows) == before, "a refused send or entry was stored"
            unknown = await in_db(frame_for, op, uuid.uuid4(), users[role], scene)
            await communicator.send_json_to({**unknown, "ref": role})
            answer_unknown = await answer_to(communicator, wait=3)
            assert answer_unknown == answer, "a room you are not in must answer like one that does not exist"
            outcomes[role] = NO_ROOM
        elif answer is not None and answer["type"] == "ack":
            while answer["id"] not in [item["id"] for item in (await next_of(other, "messages"))["envelopes"]]:
                pass
            outcomes[role] = ACK
        elif answer is not None and answer["type"] == "envelopes":
            assert scene.envelope.id in [item["id"] for item in answer["items"]], answer
            outcomes[role] = PAGE
        elif answer is not None and answer["type"] == "roster":
            assert [entry["body"] for entry in answer["entries"]] == [wire["body"] for wire in scene.chain.entries]
            outcomes[role] = ENTRIES
        elif answer is not None and answer["type"] in ("rooms", "invitations"):
            outcomes[role] = LISTED if room_id in [room["id"] for room in answer["rooms"]] else UNLISTED
        elif answer is not None and answer["type"] == "read":
            assert answer["up_to"] == scene.envelope.id, answer
            outcomes[role] = READ
        elif answer is not None and answer["type"] == "appended":
            assert (await next_of(other, "roster"))["entries"][0]["body"].endswith("}}")
            outcomes[role] = APPENDED
        else:
            outcomes[role] = f"unexpected {answer}"

    assert outcomes == expected, op
    # Whatever members did, no socket outside the room heard of it (the removed member's open one included).
    for role in ("outsider", "removed", "removed*", "staff"):
        heard = [frame for frame in await drain(socket[role]) if mentions(frame, room_id)]
        assert not heard, (role, heard)


def stored_rows() -> tuple[int, int]:
    return Envelope.objects.count(), RosterEntry.objects.count()


def _register_member(scene: Scene, username: str) -> User:
    user = register_user(username)
    scene.chain.append(scene.users["owner"], "add", member=user)
    return user


def _remove(scene: Scene, username: str) -> None:
    # The scene's room has an open invite link: a removal replaces it.
    scene.chain.append(
        scene.users["owner"], "remove", member=User.objects.get(username=username), link_secret=new_link()
    )


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_the_websocket_health_probe_answers_anyone(live_scene: Scene, role: str) -> None:
    communicator = await open_socket(live_scene.user(role), path="/ws/healthz/")
    connected, _ = await communicator.connect()
    assert connected
    assert await communicator.receive_json_from(timeout=3) == WS_ROUTES["ws/healthz/"]
    assert (await communicator.receive_output(timeout=3))["type"] == "websocket.close"
    await communicator.disconnect()
