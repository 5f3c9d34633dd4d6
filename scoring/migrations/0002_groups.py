from django.db import migrations

from leadfunnel.groups import MARKETERS, SALES_REPS, crud, grant


def grant_scoring_permissions(apps, schema_editor):
    grant(
        apps,
        group=MARKETERS,
        app_label="scoring",
        codenames=[*crud("scoringrule", "scoringconfig"), "view_scorechange"],
    )
    grant(apps, group=SALES_REPS, app_label="scoring", codenames=["view_scorechange"])


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0001_initial"),
        ("capture", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant_scoring_permissions, migrations.RunPython.noop)]
