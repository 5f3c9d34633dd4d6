from django.db import migrations

from leadfunnel.groups import MARKETERS, SALES_REPS, crud, grant


def create_groups(apps, schema_editor):
    grant(
        apps,
        group=MARKETERS,
        app_label="capture",
        codenames=[
            *crud("landingpage", "campaign"),
            "view_lead",
            "change_lead",
            "view_submission",
            "view_activity",
        ],
    )
    grant(
        apps,
        group=SALES_REPS,
        app_label="capture",
        codenames=[
            "view_lead",
            "change_lead",
            "view_submission",
            "view_activity",
            "view_landingpage",
            "view_campaign",
        ],
    )


class Migration(migrations.Migration):
    dependencies = [
        ("capture", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
