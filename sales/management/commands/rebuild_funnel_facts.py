"""Recount every lead's funnel facts (and so the hourly rollup) from the source tables."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from sales.services.funnel import rebuild_funnel_facts, recount_pending


class Command(BaseCommand):
    help = (
        "Recount the funnel facts the metrics page reads: the leads noted as moved, or with "
        "--all every lead (after a bulk load with the triggers off, a restore, or a change "
        "of what a fact means; --days limits it to the leads captured in the last N days)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="Recount every lead.")
        parser.add_argument("--days", type=int, default=None, help="With --all: only recent.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["all"]:
            days = options["days"]
            since = timezone.now() - timedelta(days=days) if days else None
            changed = rebuild_funnel_facts(since=since)
            self.stdout.write(f"Recounted the leads: {changed} facts changed.")
        else:
            self.stdout.write(f"Recounted {recount_pending()} moved leads.")
