"""The old name of `rescore_all_leads`, kept for scripts and cron lines that call it."""

from scoring.management.commands.rescore_all_leads import Command as RescoreAllLeads


class Command(RescoreAllLeads):
    pass
