"""Signed rosters (docs/PROTOCOL.md, "Roster v1"): each room's membership as a chain of entries its members sign.

Rooms that exist now have nothing to sign here (only their members' browsers can): they keep no roster (null head),
their name moves to ``legacy_name``, and their invite token stays, until the owner's browser signs a ``create`` for
them. Going back gives every room without a token a fresh one, so the column can be NOT NULL again.
"""

from __future__ import annotations

import secrets
from typing import Any

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def give_tokens_back(apps: Any, schema_editor: Any) -> None:
    room = apps.get_model("chat", "Room")
    for row in room.objects.filter(invite_token__isnull=True).only("id"):
        row.invite_token = secrets.token_urlsafe(32)
        row.save(update_fields=["invite_token"])


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0002_envelope_wraps_blob"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RenameField(model_name="room", old_name="name", new_name="legacy_name"),
        migrations.AlterField(
            model_name="room",
            name="invite_token",
            field=models.CharField(blank=True, default=None, editable=False, max_length=43, null=True, unique=True),
        ),
        migrations.RunPython(migrations.RunPython.noop, give_tokens_back),
        migrations.AddField(model_name="room", name="roster_seq", field=models.BigIntegerField(blank=True, null=True)),
        migrations.AddField(
            model_name="room", name="roster_head", field=models.BinaryField(blank=True, max_length=32, null=True)
        ),
        migrations.AddField(
            model_name="room",
            name="link_pub",
            field=models.BinaryField(blank=True, max_length=32, null=True, unique=True),
        ),
        migrations.AddField(
            model_name="membership",
            name="role",
            field=models.CharField(choices=[("admin", "admin"), ("member", "member")], default="member", max_length=8),
        ),
        migrations.AddField(
            model_name="envelope", name="roster_seq", field=models.BigIntegerField(blank=True, null=True)
        ),
        migrations.AddField(
            model_name="envelope", name="roster_hash", field=models.BinaryField(blank=True, max_length=32, null=True)
        ),
        migrations.CreateModel(
            name="RosterEntry",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("seq", models.BigIntegerField()),
                ("hash", models.BinaryField(max_length=32)),
                ("body", models.TextField()),
                ("signature", models.BinaryField(max_length=64)),
                ("link_signature", models.BinaryField(blank=True, default=b"", max_length=64)),
                (
                    "op",
                    models.CharField(
                        choices=[
                            ("create", "create"),
                            ("add", "add"),
                            ("remove", "remove"),
                            ("leave", "leave"),
                            ("join", "join"),
                            ("link", "link"),
                            ("role", "role"),
                            ("owner", "owner"),
                            ("rename", "rename"),
                        ],
                        max_length=8,
                    ),
                ),
                ("after", models.BigIntegerField(default=0)),
                ("server_time", models.DateTimeField(auto_now_add=True)),
                (
                    "actor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="roster_entries",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "room",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="roster_entries", to="chat.room"
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "roster entries",
                "constraints": [models.UniqueConstraint(fields=("room", "seq"), name="chat_rosterentry_room_seq")],
            },
        ),
    ]
