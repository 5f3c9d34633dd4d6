import django.utils.timezone
from django.conf import settings
from django.db import migrations, models
from django.db.models import F, Max, OuterRef, Subquery
from django.db.models.functions import Coalesce, Greatest


def backfill_last_activity_at(apps, schema_editor):
    lead_model = apps.get_model("capture", "Lead")
    activity_model = apps.get_model("capture", "Activity")
    latest = (
        activity_model.objects.filter(lead=OuterRef("pk"))
        .values("lead")
        .annotate(latest=Max("occurred_at"))
        .values("latest")
    )
    lead_model.objects.update(
        last_activity_at=Greatest(Coalesce(Subquery(latest), F("created_at")), F("created_at"))
    )


class Migration(migrations.Migration):
    dependencies = [
        ("capture", "0003_landingpage_double_opt_in"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="lead",
            name="lead_temp_score_idx",
        ),
        migrations.AddField(
            model_name="lead",
            name="last_activity_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
        ),
        migrations.RunPython(backfill_last_activity_at, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="lead",
            index=models.Index(
                fields=["temperature", "-score", "-last_activity_at", "-id"],
                name="lead_dashboard_order_idx",
            ),
        ),
    ]
