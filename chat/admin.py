"""The ciphertext audit log, rooms and their rosters, read-only. No model has a plaintext field, so no page can show
one, and no page names a room: rooms are ids (a room's name travels sealed in its roster)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.contrib import admin
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Length
from django.http import HttpRequest, StreamingHttpResponse
from django.utils.html import format_html

from chat.models import Envelope, Membership, Room, RosterEntry
from toolkit.admin import ReadOnlyAdmin, ReadOnlyInline
from toolkit.paginators import LargeTablePaginator
from toolkit.validation import encode_base64

RECENT_CHOICES = 30


class RoomFilter(admin.SimpleListFilter):
    """The most recent rooms (listing every room would not scale); any room works through ?room=<id>."""

    title = "room"
    parameter_name = "room"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        rooms = Room.objects.order_by("-created_at")[:RECENT_CHOICES]
        return [(str(room.id), str(room)) for room in rooms]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(room_id=self.value()) if self.value() else queryset


class SenderFilter(admin.SimpleListFilter):
    title = "sender"
    parameter_name = "sender"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        from accounts.models import User

        users = User.objects.filter(last_login__isnull=False).order_by("-last_login")[:RECENT_CHOICES]
        return [(str(user.pk), user.username) for user in users]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        return queryset.filter(sender_id=self.value()) if self.value() else queryset


CSV_COLUMNS = ["id", "room", "sender", "server_time", "client_time", "version", "size", "client_id"]
CSV_BLOBS = ["eph_pub", "iv", "ciphertext", "signature"]


def member_wraps(envelope: Envelope) -> list[tuple[int, str]]:
    """Each member id with its wrap as base64, cut from the concatenated wraps."""
    return [(member, encode_base64(wrap)) for member, wrap in envelope.wraps_by_member().items()]


class _Echo:
    def write(self, value: str) -> str:
        return value


@admin.action(description="Export selected envelopes as CSV (ciphertext, base64)")
def export_csv(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow([*CSV_COLUMNS, *CSV_BLOBS, "wraps"])
        for envelope in queryset.select_related("sender").order_by("id").iterator(chunk_size=500):
            yield writer.writerow(
                [
                    envelope.id,
                    envelope.room_id,
                    envelope.sender.username,
                    envelope.server_time.isoformat(),
                    envelope.client_time.isoformat(),
                    envelope.version,
                    envelope.size,
                    envelope.client_id,
                    *(encode_base64(getattr(envelope, blob)) for blob in CSV_BLOBS),
                    ";".join(f"{member}:{wrap}" for member, wrap in member_wraps(envelope)),
                ]
            )

    response = StreamingHttpResponse(rows(), content_type="text/csv")
    response["Content-Disposition"] = 'attachment; filename="envelopes.csv"'
    return response


class SignedRecordAdmin(ReadOnlyAdmin):
    """Records a user signed (envelopes, roster entries): staff only, shown as stored, newest first, in tables
    too big to count."""

    ordering = ("-id",)
    list_per_page = 100
    paginator = LargeTablePaginator
    show_full_result_count = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_active and request.user.is_staff and super().has_view_permission(request, obj)

    @admin.display(description="signature (base64)")
    def signature_base64(self, obj: Envelope | RosterEntry) -> str:
        return encode_base64(obj.signature)


@admin.register(Envelope)
class EnvelopeAdmin(SignedRecordAdmin):
    list_display = ("id", "room", "sender", "server_time", "size", "version")
    list_filter = (RoomFilter, SenderFilter)
    date_hierarchy = "server_time"
    search_fields = ("sender__username",)
    list_select_related = ("room", "sender")
    actions = [export_csv]
    fields = (
        "id",
        "room",
        "sender",
        "client_id",
        "version",
        "client_time",
        "server_time",
        "size",
        "eph_pub_base64",
        "iv_base64",
        "signature_base64",
        "ciphertext_base64",
        "wraps_base64",
    )
    readonly_fields = fields

    def get_actions(self, request: HttpRequest) -> dict:
        # Deleting is not an action here; export is, for anyone who may view.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.display(description="ephemeral public key (base64)")
    def eph_pub_base64(self, obj: Envelope) -> str:
        return encode_base64(obj.eph_pub)

    @admin.display(description="IV (base64)")
    def iv_base64(self, obj: Envelope) -> str:
        return encode_base64(obj.iv)

    @admin.display(description="ciphertext (base64)")
    def ciphertext_base64(self, obj: Envelope) -> str:
        return format_html('<code class="ciphertext">{}</code>', encode_base64(obj.ciphertext))

    @admin.display(description="wrapped content keys (member id: base64)")
    def wraps_base64(self, obj: Envelope) -> str:
        return "; ".join(f"{member}: {wrap}" for member, wrap in member_wraps(obj))


class MembershipInline(ReadOnlyInline):
    model = Membership
    fields = ("user", "role", "joined_at", "joined_after", "left_at")
    readonly_fields = fields
    ordering = ("joined_at",)


@admin.register(Room)
class RoomAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "policy", "owner", "member_count", "roster_length", "created_at")
    list_filter = ("kind", "policy")
    search_fields = ("owner__username", "memberships__user__username")
    date_hierarchy = "created_at"
    fields = ("id", "kind", "policy", "owner", "roster_length", "created_at")
    readonly_fields = fields
    inlines = [MembershipInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        active = Count("memberships", filter=Q(memberships__left_at__isnull=True))
        return super().get_queryset(request).select_related("owner").annotate(member_count=active)

    @admin.display(description="members", ordering="member_count")
    def member_count(self, obj: Room) -> int:
        return obj.member_count

    @admin.display(description="roster entries", ordering="roster_seq")
    def roster_length(self, obj: Room) -> int | str:
        # seq counts from 0; a room from before rosters has none.
        return "none (from before rosters)" if obj.roster_seq is None else obj.roster_seq + 1


@admin.register(RosterEntry)
class RosterEntryAdmin(SignedRecordAdmin):
    list_display = ("id", "room", "seq", "op", "actor", "server_time", "size")
    list_filter = (RoomFilter, "op")
    date_hierarchy = "server_time"
    search_fields = ("actor__username",)
    list_select_related = ("room", "actor")
    fields = (
        "id",
        "room",
        "seq",
        "op",
        "actor",
        "after",
        "server_time",
        "size",
        "hash_base64",
        "signature_base64",
        "link_signature_base64",
        "signed_body",
    )
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        # The list shows the body's size, not the body: no row's blob is loaded for it.
        return super().get_queryset(request).annotate(body_size=Length("body"))

    @admin.display(description="size (bytes)", ordering="body_size")
    def size(self, obj: RosterEntry) -> int:
        return obj.body_size

    @admin.display(description="hash (base64)")
    def hash_base64(self, obj: RosterEntry) -> str:
        return encode_base64(obj.hash)

    @admin.display(description="link signature (base64)")
    def link_signature_base64(self, obj: RosterEntry) -> str:
        return encode_base64(obj.link_signature) or "—"

    @admin.display(description="signed body, as received (the room's name in it is sealed for the members)")
    def signed_body(self, obj: RosterEntry) -> str:
        return format_html('<code class="roster-body">{}</code>', obj.body)
