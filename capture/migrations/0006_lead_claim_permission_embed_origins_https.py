from django.db import migrations, models

import capture.origins
from leadfunnel.groups import SALES_REPS, grant


def grant_claim(apps, schema_editor):
    # Only sales reps claim leads; marketers keep change_lead but not this one.
    grant(apps, group=SALES_REPS, app_label="capture", codenames=["claim_lead"])


class Migration(migrations.Migration):
    dependencies = [
        ("capture", "0005_lead_search_trigram_indexes"),
        ("capture", "0002_groups"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="lead",
            options={
                "ordering": ["-created_at"],
                "permissions": [("claim_lead", "Can claim a lead as its owner")],
            },
        ),
        migrations.AlterField(
            model_name="landingpage",
            name="embed_origins",
            field=models.TextField(
                blank=True,
                help_text="One origin per line, e.g. https://www.example.com (https only).",
                validators=[capture.origins.validate_embed_origins],
                verbose_name="sites allowed to embed the form",
            ),
        ),
        migrations.RunPython(grant_claim, migrations.RunPython.noop),
    ]
