from django.db import migrations

from leadfunnel.groups import MARKETERS, crud, grant


def grant_webhooks_permissions(apps, schema_editor):
    # Marketers manage endpoints and read and replay the delivery log; deleting log rows
    # comes only with deleting their endpoint. Sales reps get nothing here.
    grant(
        apps,
        group=MARKETERS,
        app_label="webhooks",
        codenames=[
            *crud("endpoint"),
            "view_webhookdelivery",
            "delete_webhookdelivery",
            "replay_webhookdelivery",
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0001_initial"),
        ("capture", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant_webhooks_permissions, migrations.RunPython.noop)]
