from django.db import migrations

from leadfunnel.groups import MARKETERS, SALES_REPS, crud, grant


def grant_sms_permissions(apps, schema_editor):
    # Marketers keep the SMS suppression list as they keep the email one, and read the texts'
    # log; reps read it (the lead page shows texts too).
    grant(
        apps,
        group=MARKETERS,
        app_label="nurture",
        codenames=[*crud("smssuppression"), "view_smsmessage"],
    )
    grant(apps, group=SALES_REPS, app_label="nurture", codenames=["view_smsmessage"])


class Migration(migrations.Migration):
    dependencies = [
        ("nurture", "0006_sms"),
    ]

    operations = [migrations.RunPython(grant_sms_permissions, migrations.RunPython.noop)]
