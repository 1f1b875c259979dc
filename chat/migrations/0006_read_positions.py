"""Read positions: every stay starts read up to its room's newest envelope, so an upgrade shows nothing as unread."""

from django.db import migrations, models
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce


def read_up_to_now(apps, schema_editor):
    Membership = apps.get_model("chat", "Membership")
    Envelope = apps.get_model("chat", "Envelope")
    newest = Envelope.objects.filter(room_id=OuterRef("room_id")).order_by("-id").values("id")[:1]
    Membership.objects.filter(left_at__isnull=True).update(read_up_to=Coalesce(Subquery(newest), 0))


class Migration(migrations.Migration):
    dependencies = [
        ("chat", "0005_invitations"),
    ]

    operations = [
        migrations.AddField(
            model_name="membership",
            name="read_up_to",
            field=models.BigIntegerField(default=0),
        ),
        migrations.RunPython(read_up_to_now, migrations.RunPython.noop),
    ]
