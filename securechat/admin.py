"""The staff console: Django's admin under SecureChat's name, with log-in guarded like the chat's (accounts/limits.py,
as the account ``admin:<name>``)."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse

from accounts import limits
from accounts.audit import client_info, record_event
from accounts.models import AuditEvent
from toolkit import throttle
from toolkit.errors import ApiError


class SecureChatAdminSite(admin.AdminSite):
    site_header = "SecureChat administration"
    site_title = "SecureChat admin"
    index_title = "Ciphertext, accounts and security events"

    def login(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        if request.method != "POST":
            return super().login(request, extra_context)
        client = client_info(request)
        username = request.POST.get("username", "")[:150]
        address = limits.address_of(client)
        try:
            throttle.attempt(limits.PASSWORD, f"admin:{username}", address)
        except ApiError as refusal:
            context = {**(extra_context or {}), "throttled": refusal.detail}
            response = super().login(_as_get(request), context)
            response.status_code = 429
            return response
        response = super().login(request, extra_context)
        if response.status_code == 302 and request.user.is_authenticated:
            throttle.succeeded(limits.PASSWORD, f"admin:{username}", address)
            record_event(AuditEvent.Action.LOGIN_OK, client=client, user=request.user, detail={"console": "admin"})
        else:
            record_event(AuditEvent.Action.LOGIN_FAILED, client=client, username=username, detail={"console": "admin"})
        return response


def _as_get(request: HttpRequest) -> HttpRequest:
    """The same request as a GET, to render the log-in form without checking the password."""
    request.method = "GET"
    return request
