from django.db import migrations

from leadfunnel.groups import MARKETERS, grant


def grant_api_permissions(apps, schema_editor):
    """What integrations do on a Marketer's token beyond the admin: push leads and events,
    enroll leads in sequences. Sales reps' tokens read and work leads as on the dashboard."""
    grant(apps, group=MARKETERS, app_label="capture", codenames=["add_lead", "add_activity"])
    grant(apps, group=MARKETERS, app_label="nurture", codenames=["add_enrollment"])


class Migration(migrations.Migration):
    dependencies = [
        ("api", "0001_initial"),
        ("capture", "0002_groups"),
        ("nurture", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant_api_permissions, migrations.RunPython.noop)]
