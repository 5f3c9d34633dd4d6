from django.db import migrations

from leadfunnel.groups import MARKETERS, grant


def grant_audience_sync_permissions(apps, schema_editor):
    """Marketers set up ad-audience syncs and run them; the sync log is read-only (written
    by the runs). Sales reps get none of it: audiences are marketing's."""
    grant(
        apps,
        group=MARKETERS,
        app_label="integrations",
        codenames=[
            "add_audiencesync",
            "change_audiencesync",
            "delete_audiencesync",
            "view_audiencesync",
            "view_audiencesyncrun",
        ],
    )


class Migration(migrations.Migration):
    dependencies = [("integrations", "0003_audience_sync")]

    operations = [migrations.RunPython(grant_audience_sync_permissions, migrations.RunPython.noop)]
