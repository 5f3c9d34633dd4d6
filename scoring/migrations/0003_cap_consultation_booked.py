"""Installs seeded before the cap: the default "Consultation booked" rule counts one booking.

Without it a reschedule, or a cancel and a rebook, added the booking's points again (a lead
reached 110). Only the seeded rule, untouched since (still uncapped), is changed; the next
rescoring (any activity, or the nightly run) applies it to stored scores.
"""

from django.db import migrations


def cap_seeded_booking_rule(apps, schema_editor):
    ScoringRule = apps.get_model("scoring", "ScoringRule")
    ScoringRule.objects.filter(
        name="Consultation booked", activity_kind="booking_made", max_occurrences__isnull=True
    ).update(max_occurrences=1)


class Migration(migrations.Migration):
    dependencies = [("scoring", "0002_groups")]

    operations = [migrations.RunPython(cap_seeded_booking_rule, migrations.RunPython.noop)]
