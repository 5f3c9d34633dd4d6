from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from scoring.models import ScoreChange
from scoring.services import rescore_all_leads


class Command(BaseCommand):
    help = "Rescore every lead now (what the nightly job does): decay and rule changes."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--cause",
            choices=[ScoreChange.Cause.DECAY, ScoreChange.Cause.RULES, ScoreChange.Cause.MANUAL],
            default=ScoreChange.Cause.MANUAL,
            help="recorded on the ScoreChange rows of leads whose temperature moves",
        )

    def handle(self, *args: Any, cause: str, **options: Any) -> None:
        result = rescore_all_leads(cause=cause)
        if result.skipped:
            self.stderr.write("Another rescoring is under way; nothing done.")
            return
        self.stdout.write(
            f"Rescored {result.rescored} leads ({result.temperature_changes} changed "
            f"temperature) in {result.seconds:.2f} s, of which {result.announce_seconds:.2f} s "
            "telling the other apps."
        )
