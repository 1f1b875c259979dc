"""Rooms over HTTP: parse at the edge, call a service, answer with the room as the member sees it."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from accounts.views import client_info
from chat import selectors, services
from chat.protocol import room_id as parse_room_id
from securechat.api import json_endpoint, read_json
from securechat.validation import Fields


def _room_answer(request: HttpRequest, room_id: object, status: int = 200) -> JsonResponse:
    return JsonResponse({"room": selectors.room_for(request.user, str(room_id))}, status=status)


def _room_id(value: str) -> str:
    return str(parse_room_id(Fields({"room": value})))


@require_safe
@ensure_csrf_cookie
@login_required
def chat_page(request: HttpRequest, room_id: str | None = None) -> HttpResponse:
    return render(request, "chat/app.html", {"room_id": room_id or ""})


@require_safe
@ensure_csrf_cookie
@login_required
def join_page(request: HttpRequest, token: str) -> HttpResponse:
    return render(request, "chat/join.html", {"token": token})


@json_endpoint(methods=("GET", "POST"), login_required=True)
def rooms(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return JsonResponse({"rooms": selectors.rooms_for(request.user)})
    fields = read_json(request)
    policy = fields.get("policy") or "invite"
    room = services.create_room(
        owner=request.user,
        name=fields.string("name", max_length=200),
        policy=policy if isinstance(policy, str) else "",
        client=client_info(request),
    )
    return _room_answer(request, room.id, status=201)


@json_endpoint(methods=("GET",), login_required=True)
def room_detail(request: HttpRequest, room_id: str) -> HttpResponse:
    return _room_answer(request, _room_id(room_id))


@json_endpoint(methods=("POST",), login_required=True)
def add_member(request: HttpRequest, room_id: str) -> HttpResponse:
    fields = read_json(request)
    room = services.add_member(
        actor=request.user,
        room_id=_room_id(room_id),
        username=fields.string("username", max_length=64),
        client=client_info(request),
    )
    return _room_answer(request, room.id)


@json_endpoint(methods=("DELETE",), login_required=True)
def remove_member(request: HttpRequest, room_id: str, username: str) -> HttpResponse:
    room = services.remove_member(
        actor=request.user, room_id=_room_id(room_id), username=username, client=client_info(request)
    )
    return _room_answer(request, room.id)


@json_endpoint(methods=("POST",), login_required=True)
def leave(request: HttpRequest, room_id: str) -> HttpResponse:
    services.leave_room(user=request.user, room_id=_room_id(room_id), client=client_info(request))
    return HttpResponse(status=204)


@json_endpoint(methods=("GET",), login_required=True)
def invite_link(request: HttpRequest, room_id: str) -> HttpResponse:
    membership = selectors.membership_of(request.user, _room_id(room_id))
    room = membership.room
    if room.policy != room.Policy.LINK:
        return JsonResponse({"invite_url": None})
    return JsonResponse({"invite_url": request.build_absolute_uri(f"/join/{room.invite_token}/")})


@json_endpoint(methods=("POST",), login_required=True)
def join(request: HttpRequest, token: str) -> HttpResponse:
    room = services.join_by_link(user=request.user, invite_token=token, client=client_info(request))
    return _room_answer(request, room.id)


@json_endpoint(methods=("POST",), login_required=True)
def direct(request: HttpRequest) -> HttpResponse:
    fields = read_json(request)
    room = services.open_direct(
        user=request.user, other_username=fields.string("username", max_length=64), client=client_info(request)
    )
    return _room_answer(request, room.id)
