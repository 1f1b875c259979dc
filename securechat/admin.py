"""The staff console: Django's admin under SecureChat's name, with log-in throttled like the chat's."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from accounts.models import AuditEvent
from securechat import throttle
from securechat.errors import ApiError


class SecureChatAdminSite(admin.AdminSite):
    site_header = "SecureChat administration"
    site_title = "SecureChat admin"
    index_title = "Ciphertext, accounts and security events"

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method != "POST":
            return super().login(request, extra_context)
        # Imported here: accounts.services imports models, which need the app registry ready.
        from accounts.services import record_event
        from accounts.views import client_info

        client = client_info(request)
        username = request.POST.get("username", "")[:150]
        address = client.ip_address or "unknown"
        try:
            throttle.check(throttle.LOGIN_PER_USERNAME, f"admin:{username}")
            throttle.check(throttle.LOGIN_PER_ADDRESS, address)
        except ApiError as refusal:
            context = {**(extra_context or {}), "throttled": refusal.detail}
            response = super().login(_as_get(request), context)
            response.status_code = 429
            return response
        response = super().login(request, extra_context)
        if response.status_code == 302 and request.user.is_authenticated:
            throttle.clear(throttle.LOGIN_PER_USERNAME, f"admin:{username}")
            record_event(AuditEvent.Action.LOGIN_OK, client=client, user=request.user, detail={"console": "admin"})
        else:
            throttle.hit(throttle.LOGIN_PER_USERNAME, f"admin:{username}")
            throttle.hit(throttle.LOGIN_PER_ADDRESS, address)
            record_event(AuditEvent.Action.LOGIN_FAILED, client=client, username=username, detail={"console": "admin"})
        return response


def _as_get(request: HttpRequest) -> HttpRequest:
    """The same request as a GET, to render the log-in form without checking the password."""
    request.method = "GET"
    return request


class ReadOnlyPermissions:
    """Staff look; nobody adds, edits or deletes history from the console."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class ReadOnlyAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    pass


class ReadOnlyInline(ReadOnlyPermissions, admin.TabularInline):
    extra = 0
    can_delete = False
