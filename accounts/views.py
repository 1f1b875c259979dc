"""Accounts pages and JSON API: parse at the edge, call a service, shape the answer. No logic here."""

from __future__ import annotations

from django.contrib.auth import login, logout, update_session_auth_hash
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST, require_safe

from accounts import introductions, limits, schemas, selectors, services
from accounts.audit import client_info
from accounts.models import User
from accounts.signals import password_changed
from toolkit import throttle
from toolkit.api import json_endpoint, read_json
from toolkit.errors import ApiError, ErrorCode

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
KEY_LOOKUPS_PER_USER = throttle.Limit("key-lookup-user", 60, 60 * 60, "Too many name lookups: try again later.")


def signed_in(request: HttpRequest, user: User, status: int = 200) -> JsonResponse:
    """Start the session and answer with the user's own identity, which the browser unwraps."""
    login(request, user, backend=MODEL_BACKEND)
    return JsonResponse({"user": selectors.own_identity_json(user.identity)}, status=status)


# --- pages -------------------------------------------------------------------------


def _page(template: str):
    @require_safe
    @ensure_csrf_cookie
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, template)

    return view


signup_page = _page("accounts/signup.html")
login_page = _page("accounts/login.html")
recover_page = _page("accounts/recover.html")
password_page = login_required(_page("accounts/password.html"))
reset_page = login_required(_page("accounts/reset.html"))


@require_POST
def logout_form(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.log_out(user=request.user, client=client_info(request))
    logout(request)
    return redirect("accounts:login")


# --- JSON API ----------------------------------------------------------------------


@json_endpoint(methods=("POST",))
def signup(request: HttpRequest) -> HttpResponse:
    client = client_info(request)
    limits.per_address(limits.signup_per_address(), client)
    account = schemas.new_account(read_json(request))
    user = services.register(account=account, client=client)
    return signed_in(request, user, status=201)


@json_endpoint(methods=("POST",))
def prelogin(request: HttpRequest) -> HttpResponse:
    limits.per_address(limits.login_per_address(), client_info(request))
    username = schemas.any_username(read_json(request))
    return JsonResponse({"kdf": selectors.kdf_json(selectors.prelogin_kdf(username))})


@json_endpoint(methods=("POST",))
def login_api(request: HttpRequest) -> HttpResponse:
    client = client_info(request)
    limits.per_address(limits.login_per_address(), client)
    fields = read_json(request)
    user = services.log_in(username=schemas.any_username(fields), auth_key=schemas.auth_key(fields), client=client)
    return signed_in(request, user)


@json_endpoint(methods=("POST",))
def logout_api(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        services.log_out(user=request.user, client=client_info(request))
    logout(request)
    return HttpResponse(status=204)


@json_endpoint(methods=("GET",), login_required=True)
def me(request: HttpRequest) -> HttpResponse:
    identity = selectors.identity_of(request.user)
    if identity is None:
        raise ApiError(ErrorCode.NOT_FOUND, "This account has no keys; sign up through the app.")
    return JsonResponse({"user": selectors.own_identity_json(identity)})


@json_endpoint(methods=("POST",), login_required=True)
def change_password(request: HttpRequest) -> HttpResponse:
    fields = read_json(request)
    identity = services.change_password(
        user=request.user,
        current_auth_key=schemas.auth_key(fields, "current_auth_key"),
        new=schemas.new_password(fields),
        client=client_info(request),
    )
    # Other sessions end with the old password, and their sockets close; this one stays signed in, under a new key.
    before = request.session.session_key
    update_session_auth_hash(request, identity.user)
    password_changed.send(sender=User, user=identity.user, kept=(before, request.session.session_key))
    return JsonResponse({"user": selectors.own_identity_json(identity)})


@json_endpoint(methods=("POST",), login_required=True)
def reset_identity(request: HttpRequest) -> HttpResponse:
    identity = services.reset_identity(
        user=request.user,
        reset=schemas.key_reset(read_json(request, max_bytes=schemas.MAX_TRUST_STORE_BYTES * 2)),
        client=client_info(request),
    )
    update_session_auth_hash(request, request.user)
    return JsonResponse({"user": selectors.own_identity_json(identity)})


@json_endpoint(methods=("GET", "PUT"), login_required=True)
def trust_store(request: HttpRequest) -> HttpResponse:
    """The sealed pins: only their owner reads or writes them, and only the browser can open them."""
    if request.method == "PUT":
        write = schemas.trust_store(read_json(request, max_bytes=schemas.MAX_TRUST_STORE_BYTES * 2))
        store = services.save_trust_store(user=request.user, write=write)
    else:
        store = selectors.trust_store_of(request.user)
    return JsonResponse(selectors.trust_store_json(store))


@json_endpoint(methods=("POST",))
def recover_begin(request: HttpRequest) -> HttpResponse:
    client = client_info(request)
    limits.per_address(limits.recovery_per_address(), client)
    fields = read_json(request)
    identity, wrapped = services.begin_recovery(
        username=schemas.any_username(fields),
        recovery_auth=fields.bytes("recovery_auth", length=schemas.KEY_BYTES),
        client=client,
    )
    return JsonResponse({"username": identity.user.username, "account_key_by_recovery": wrapped.as_json()})


@json_endpoint(methods=("POST",))
def recover_finish(request: HttpRequest) -> HttpResponse:
    client = client_info(request)
    limits.per_address(limits.recovery_per_address(), client)
    fields = read_json(request)
    identity = services.finish_recovery(
        username=schemas.any_username(fields),
        recovery_auth=fields.bytes("recovery_auth", length=schemas.KEY_BYTES),
        new=schemas.new_password(fields),
        client=client,
    )
    password_changed.send(sender=User, user=identity.user, kept=None)
    return signed_in(request, identity.user)


@json_endpoint(methods=("GET",), login_required=True)
def public_keys(request: HttpRequest, username: str) -> HttpResponse:
    """Someone's keys by their exact name, to start a conversation with them: throttled per asker, so the directory
    cannot be listed by guessing names (lookups by id answer only for people who share a room, ``chat.views``)."""
    throttle.check_and_hit(KEY_LOOKUPS_PER_USER, str(request.user.pk))
    identity = selectors.identity_by_username(username)
    if identity is None:
        raise ApiError(ErrorCode.NOT_FOUND, "No user with that name.")
    if identity.user_id == request.user.pk:
        return JsonResponse(selectors.own_identity_json(identity))
    introductions.introduce(request.user.pk, identity.user_id)
    return JsonResponse(selectors.public_identity_json(identity))
