"""Envelope wraps as one blob (docs/DECISIONS.md, "Wraps travel as one blob").

Before: ``wraps`` = {"<member id>": "<base64 of the 40-byte wrap>"}. After: ``wrap_ids`` = [member id, …] ascending
and ``wraps`` = the raw wraps concatenated in that order. The signature covers the ids and raw wraps in ascending id
order either way, so every stored envelope keeps a valid signature; the reverse rebuilds the map.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

from django.db import migrations, models

WRAP_BYTES = 40  # chat.protocol.WRAP_BYTES, copied: a migration must not change when the app does
BATCH = 1000


def blob_from_map(wraps: dict[str, str]) -> tuple[list[int], bytes]:
    """{"<id>": "<base64 wrap>"} → (ids ascending, the raw wraps concatenated in that order)."""
    pairs = sorted((int(member), base64.b64decode(wrap, validate=True)) for member, wrap in wraps.items())
    if not pairs or any(len(wrap) != WRAP_BYTES for _, wrap in pairs):
        raise ValueError(f"expected 1 or more wraps of {WRAP_BYTES} bytes")
    return [member for member, _ in pairs], b"".join(wrap for _, wrap in pairs)


def map_from_blob(wrap_ids: list[int], wraps: bytes) -> dict[str, str]:
    """The inverse of ``blob_from_map``."""
    wraps = bytes(wraps)
    if not wrap_ids or len(wraps) != WRAP_BYTES * len(wrap_ids):
        raise ValueError(f"expected {WRAP_BYTES} bytes per id")
    return {
        str(member): base64.b64encode(wraps[index * WRAP_BYTES : (index + 1) * WRAP_BYTES]).decode("ascii")
        for index, member in enumerate(wrap_ids)
    }


def _rewrite(apps: Any, read: list[str], write: list[str], change: Callable[[Any], None]) -> None:
    """Every envelope through ``change``, in batches by id (no cursor left open over a table being written)."""
    envelope = apps.get_model("chat", "Envelope")
    last = 0
    while batch := list(envelope.objects.filter(id__gt=last).order_by("id").only("id", *read)[:BATCH]):
        for row in batch:
            try:
                change(row)
            except ValueError as error:
                raise ValueError(f"envelope {row.id}: {error}") from error
        envelope.objects.bulk_update(batch, write)
        last = batch[-1].id


def forward(apps: Any, schema_editor: Any) -> None:
    def change(row: Any) -> None:
        row.wrap_ids, row.wraps = blob_from_map(row.wraps_map)

    _rewrite(apps, ["wraps_map"], ["wrap_ids", "wraps"], change)


def backward(apps: Any, schema_editor: Any) -> None:
    def change(row: Any) -> None:
        row.wraps_map = map_from_blob(row.wrap_ids, row.wraps)

    _rewrite(apps, ["wrap_ids", "wraps"], ["wraps_map"], change)


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0001_initial"),
    ]

    # The old column is made nullable before the conversion, so that going back can add it again over existing rows
    # and fill it before it is made NOT NULL once more.
    operations = [
        migrations.RenameField(model_name="envelope", old_name="wraps", new_name="wraps_map"),
        migrations.AlterField(model_name="envelope", name="wraps_map", field=models.JSONField(null=True)),
        migrations.AddField(
            model_name="envelope", name="wrap_ids", field=models.JSONField(default=list), preserve_default=False
        ),
        migrations.AddField(
            model_name="envelope", name="wraps", field=models.BinaryField(default=b""), preserve_default=False
        ),
        migrations.RunPython(forward, backward),
        migrations.RemoveField(model_name="envelope", name="wraps_map"),
    ]
