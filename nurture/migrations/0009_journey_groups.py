from django.db import migrations

from leadfunnel.groups import MARKETERS, SALES_REPS, crud, grant


def grant_journey_permissions(apps, schema_editor):
    # Marketers build journeys on the map (journey, nodes, arrows, triggers) and read who is
    # in them and which way each lead went; reps read journeys and a lead's path (the lead
    # page shows it), and change none of it.
    grant(
        apps,
        group=MARKETERS,
        app_label="nurture",
        codenames=[
            *crud("journey", "node", "edge", "trigger"),
            "view_pathstep",
            "view_enrollment",
        ],
    )
    grant(apps, group=SALES_REPS, app_label="nurture", codenames=["view_journey", "view_pathstep"])


class Migration(migrations.Migration):
    dependencies = [
        ("nurture", "0008_journeys"),
    ]

    operations = [migrations.RunPython(grant_journey_permissions, migrations.RunPython.noop)]
