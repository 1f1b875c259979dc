"""Rooms over HTTP: parse at the edge, call a service or a selector, answer with the room as the member sees it."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from accounts import selectors as accounts_selectors
from accounts.audit import client_info
from chat import protocol, roster, selectors, services
from toolkit.api import MAX_BODY_BYTES, json_endpoint, read_json
from toolkit.errors import ApiError, ErrorCode
from toolkit.validation import Fields

# An entry's body (at most roster.MAX_BODY) travels as a JSON string in the request: its quotes are escaped.
MAX_ENTRY_REQUEST_BYTES = 2 * roster.MAX_BODY + MAX_BODY_BYTES


def _room_id(value: str) -> str:
    return str(protocol.room_id(Fields({"room": value})))


def _from(request: HttpRequest) -> int:
    """``?from=<seq>``: the first entry of a page (0, the whole chain, when absent)."""
    raw = request.GET.get("from", "0")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 16):
        raise ApiError(ErrorCode.WRONG_TYPE, "from is a roster seq: a whole number.", field="from")
    return protocol.roster_from(Fields({"from": int(raw)}))


def _entries_answer(room_id: object, start: int) -> HttpResponse:
    encoded, more = selectors.roster_page(str(room_id), start)
    text = protocol.frame_with_list({"room": str(room_id), "more": more}, "entries", encoded)
    return HttpResponse(text, content_type="application/json")


def _keyless(request: HttpRequest) -> HttpResponse | None:
    """For an account with no keys (staff made with ``createsuperuser``), a page that says where it belongs, in place
    of a chat page that could only fail in the browser; None for everyone else (anonymous visitors too)."""
    if not request.user.is_authenticated or accounts_selectors.identity_of(request.user) is not None:
        return None
    return render(request, "chat/keyless.html", status=403)


@require_safe
@ensure_csrf_cookie
@login_required
def chat_page(request: HttpRequest, room_id: str | None = None) -> HttpResponse:
    return _keyless(request) or render(request, "chat/app.html", {"room_id": room_id or ""})


@require_safe
@ensure_csrf_cookie
@login_required
def join_page(request: HttpRequest, token: str) -> HttpResponse:
    """A legacy invite link (``/join/<token>/``)."""
    return _keyless(request) or render(request, "chat/join.html", {"token": token})


@require_safe
@ensure_csrf_cookie
def join_link_page(request: HttpRequest) -> HttpResponse:
    """A signed room's invite link (``/join/#<secret>``). Served signed out too: a redirect to log in would drop the
    fragment, which browsers never send, so the page keeps it for the visit and sends the visitor to log in itself."""
    return _keyless(request) or render(request, "chat/join.html", {"token": ""})


@json_endpoint(methods=("GET",), login_required=True)
def rooms(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"rooms": selectors.rooms_for(request.user)})


@json_endpoint(methods=("GET",), login_required=True)
def room_detail(request: HttpRequest, room_id: str) -> HttpResponse:
    return JsonResponse({"room": selectors.room_for(request.user, _room_id(room_id))})


@json_endpoint(methods=("GET", "POST"), login_required=True)
def room_roster(request: HttpRequest, room_id: str) -> HttpResponse:
    room_id = _room_id(room_id)
    if request.method == "GET":
        start = _from(request)
        selectors.membership_of(request.user, room_id, pending_too=True)  # an invitee reads what they are invited to
        return _entries_answer(room_id, start)
    entry = roster.entry(read_json(request, max_bytes=MAX_ENTRY_REQUEST_BYTES))
    appended = services.append_entry(
        actor=request.user, room_id=uuid.UUID(room_id), entry=entry, client=client_info(request)
    )
    room = selectors.room_if_member(request.user, room_id)  # None for whoever just left
    status = 201 if entry.op == "create" else 200
    return JsonResponse({**appended.answer(), "room": room}, status=status)


@json_endpoint(methods=("GET",), login_required=True)
def link(request: HttpRequest, key: str) -> HttpResponse:
    """The chain of the room whose open invite link has this key: what the join page verifies before joining."""
    link_pub = roster.link_key(key)
    room = selectors.room_by_link(link_pub) if link_pub is not None else None
    if room is None:
        raise ApiError(ErrorCode.NOT_FOUND, "This invite link is not valid (any more).")
    return _entries_answer(room.id, _from(request))


@json_endpoint(methods=("GET",), login_required=True)
def invitations(request: HttpRequest) -> HttpResponse:
    """Rooms the user is invited to (and direct conversations asked for) that wait for their answer."""
    return JsonResponse({"invitations": selectors.invitations_for(request.user)})


@json_endpoint(methods=("POST",), login_required=True)
def accept(request: HttpRequest, room_id: str) -> HttpResponse:
    """Accept an invitation; ``roster`` (optional): the head ``{seq, hash}`` the invitee saw, which must still be the
    room's (``roster_changed`` otherwise)."""
    room_id = _room_id(room_id)
    seen = roster.seen_head(read_json(request)) if request.body else None  # no body: as it is now
    services.accept_invitation(user=request.user, room_id=room_id, client=client_info(request), seen=seen)
    return JsonResponse({"room": selectors.room_for(request.user, room_id)})


@json_endpoint(methods=("POST",), login_required=True)
def decline(request: HttpRequest, room_id: str) -> HttpResponse:
    """Decline a direct conversation someone asked for (a group invitation is declined with a signed ``leave``)."""
    services.decline_request(user=request.user, room_id=_room_id(room_id), client=client_info(request))
    return HttpResponse(status=204)


@json_endpoint(methods=("POST",), login_required=True)
def leave(request: HttpRequest, room_id: str) -> HttpResponse:
    services.leave_room(user=request.user, room_id=_room_id(room_id), client=client_info(request))
    return HttpResponse(status=204)


@json_endpoint(methods=("POST",), login_required=True)
def join(request: HttpRequest, token: str) -> HttpResponse:
    room = services.join_by_link(user=request.user, invite_token=token, client=client_info(request))
    return JsonResponse({"room": selectors.room_for(request.user, str(room.id))})


# --- the key directory by id -------------------------------------------------------------------------------------

MAX_KEY_LOOKUP = 256


def _user_id(raw: str) -> int | None:
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 19 else None


def _link_pub(request: HttpRequest) -> bytes | None:
    """``?link=<address>``: the join page, before joining, may read the keys of the room whose link it holds."""
    raw = request.GET.get("link")
    if raw is None:
        return None
    link_pub = roster.link_key(raw)
    if link_pub is None:
        raise ApiError(ErrorCode.WRONG_TYPE, "link is an invite link's address.", field="link")
    return link_pub


@json_endpoint(methods=("GET",), login_required=True)
def public_keys_by_ids(request: HttpRequest) -> HttpResponse:
    """Public keys of several users at once (the senders on a page of history, a roster's members): only of people
    who are or were in a room with the asker; anyone else is left out, as an id that does not exist is."""
    parts = [part for part in request.GET.get("ids", "").split(",") if part]
    ids = [_user_id(part) for part in parts]
    if len(ids) > MAX_KEY_LOOKUP or None in ids:
        raise ApiError(ErrorCode.WRONG_TYPE, f"ids is up to {MAX_KEY_LOOKUP} user ids, comma-separated.", field="ids")
    visible = selectors.visible_user_ids(request.user, ids, link_pub=_link_pub(request))
    identities = accounts_selectors.identities_by_ids(sorted(visible))
    return JsonResponse({"keys": [accounts_selectors.public_identity_json(identity) for identity in identities]})


@json_endpoint(methods=("GET",), login_required=True)
def key_history(request: HttpRequest) -> HttpResponse:
    """Every signing key a user has had, oldest first: roster entries signed before a key reset verify under them.
    Answered like the lookup by id: for anyone else, as for a user who does not exist."""
    user_id = _user_id(request.GET.get("id", ""))
    if user_id is None:
        raise ApiError(ErrorCode.WRONG_TYPE, "id is a user id.", field="id")
    visible = selectors.visible_user_ids(request.user, [user_id], link_pub=_link_pub(request))
    keys = accounts_selectors.key_history(user_id) if visible else []
    if not keys:
        raise ApiError(ErrorCode.NOT_FOUND, "No user with that id.")
    return JsonResponse({"id": user_id, "keys": keys})
