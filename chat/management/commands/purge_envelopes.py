"""Retention: delete envelopes older than N days, in batches, and leave an audit event."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from chat.retention import purge_envelopes


class Command(BaseCommand):
    help = "Delete envelopes (ciphertext) older than --older-than DAYS, in batches."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--older-than", type=int, required=True, metavar="DAYS")
        parser.add_argument("--dry-run", action="store_true", help="count what would be deleted; delete nothing")
        parser.add_argument("--batch-size", type=int, default=5000)

    def handle(self, *args: Any, older_than: int, dry_run: bool, batch_size: int, **options: Any) -> None:
        if older_than < 0 or batch_size < 1:
            raise CommandError("--older-than must be ≥ 0 and --batch-size ≥ 1")
        count = purge_envelopes(older_than_days=older_than, dry_run=dry_run, batch_size=batch_size)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(f"{verb} {count} envelope{'s' if count != 1 else ''} older than {older_than} days.")
