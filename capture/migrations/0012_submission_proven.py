from django.db import migrations, models


def mark_submissions_that_created_their_lead_proven(apps, schema_editor):
    """What is known of earlier submissions: one that created its lead was the lead's own
    (whether a browser's cookie proved one was not stored, so it stays unproven)."""
    apps.get_model("capture", "Submission").objects.filter(created_lead=True).update(proven=True)


class Migration(migrations.Migration):
    dependencies = [
        ("capture", "0011_submission_outbox"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="proven",
            field=models.BooleanField(db_default=False, default=False, editable=False),
        ),
        migrations.RunPython(
            mark_submissions_that_created_their_lead_proven, migrations.RunPython.noop
        ),
    ]
