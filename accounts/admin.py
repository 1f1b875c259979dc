"""Users with their key fingerprints, and the security events: read-only where history is concerned."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse

from accounts.keys import fingerprint
from accounts.models import AuditEvent, KeyEvent, User
from toolkit.admin import ReadOnlyAdmin, ReadOnlyInline
from toolkit.paginators import LargeTablePaginator


class KeyEventInline(ReadOnlyInline):
    model = KeyEvent
    fields = ("key_version", "kind", "signing_key_fingerprint", "created_at")
    readonly_fields = fields

    @admin.display(description="fingerprint")
    def signing_key_fingerprint(self, obj: KeyEvent) -> str:
        return fingerprint(obj.signing_public_key)


@admin.register(User)
class SecureChatUserAdmin(UserAdmin):
    list_display = ("username", "key_fingerprint", "key_version", "date_joined", "last_login", "room_count", "is_staff")
    list_filter = ("is_staff", "is_superuser", "is_active")
    # Staff may switch accounts on and off and grant console access, nothing that would let them act as a user:
    # no password page (the "password" is the hash of a key only the user's browser can derive), no new users,
    # no renaming (the name is bound into the user's sealed keys and safety numbers), no deleting history.
    readonly_fields = ("username", "key_fingerprint", "key_version", "rooms", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("username",)}),
        ("Identity", {"fields": ("key_fingerprint", "key_version", "rooms")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    inlines = [KeyEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        raise PermissionDenied("A user's log-in secret can only be changed by the user, in their browser.")

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        active = Count("memberships", filter=Q(memberships__left_at__isnull=True))
        return super().get_queryset(request).select_related("identity").annotate(room_count=active)

    @admin.display(description="key fingerprint")
    def key_fingerprint(self, obj: User) -> str:
        identity = getattr(obj, "identity", None)
        return fingerprint(identity.signing_public_key) if identity else "—"

    @admin.display(description="key version")
    def key_version(self, obj: User) -> int | str:
        identity = getattr(obj, "identity", None)
        return identity.key_version if identity else "—"

    @admin.display(description="rooms", ordering="room_count")
    def room_count(self, obj: User) -> int:
        return obj.room_count

    @admin.display(description="rooms")
    def rooms(self, obj: User) -> str:
        stays = obj.memberships.filter(left_at__isnull=True).select_related("room").order_by("joined_at")
        return ", ".join(str(stay.room) for stay in stays) or "—"


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "action", "username", "ip_address", "detail")
    list_filter = ("action", ("user", admin.RelatedOnlyFieldListFilter))
    date_hierarchy = "created_at"
    search_fields = ("username", "ip_address")
    list_select_related = ("user",)
    list_per_page = 100
    paginator = LargeTablePaginator
    show_full_result_count = False
    fields = ("created_at", "action", "user", "username", "ip_address", "user_agent", "detail")
    readonly_fields = fields
