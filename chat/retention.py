"""Retention: staff remove envelopes older than a number of days (``manage.py purge_envelopes``)."""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.audit import ClientInfo, record_event
from accounts.models import AuditEvent
from chat.models import Envelope


def purge_envelopes(*, older_than_days: int, dry_run: bool = False, batch_size: int = 5000) -> int:
    """Delete envelopes stored more than ``older_than_days`` ago, a batch per transaction.

    Batches keep locks short on a busy table; the audit event records what retention removed.
    """
    cutoff = timezone.now() - timedelta(days=older_than_days)
    old = Envelope.objects.filter(server_time__lt=cutoff)
    if dry_run:
        return old.count()
    deleted = 0
    while True:
        with transaction.atomic():
            ids = list(old.order_by("id").values_list("id", flat=True)[:batch_size])
            if not ids:
                break
            deleted += Envelope.objects.filter(id__in=ids).delete()[0]
    record_event(
        AuditEvent.Action.ENVELOPES_PURGED,
        client=ClientInfo(ip_address=None, user_agent="manage.py purge_envelopes"),
        detail={"deleted": deleted, "older_than_days": older_than_days, "cutoff": cutoff.isoformat()},
    )
    return deleted
