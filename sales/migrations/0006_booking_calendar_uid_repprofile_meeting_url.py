import uuid
from typing import Any

import django.core.validators
from django.db import migrations, models


def give_each_booking_its_own_uid(apps: Any, schema_editor: Any) -> None:
    # A callable default would give every existing row the same UID: calendars would then
    # merge unrelated consultations into one event.
    Booking = apps.get_model("sales", "Booking")
    for booking in Booking.objects.filter(calendar_uid__isnull=True).only("pk"):
        Booking.objects.filter(pk=booking.pk).update(calendar_uid=uuid.uuid4())


class Migration(migrations.Migration):
    dependencies = [("sales", "0005_task")]

    operations = [
        migrations.AddField(
            model_name="repprofile",
            name="meeting_url",
            field=models.URLField(
                blank=True,
                help_text="Where booked consultations take place (a video call link, "
                "https://…): the calendar invite's location.",
                max_length=500,
                validators=[django.core.validators.URLValidator(schemes=["https"])],
                verbose_name="meeting link",
            ),
        ),
        migrations.AddField(
            model_name="booking",
            name="calendar_sequence",
            field=models.PositiveIntegerField(default=0, editable=False),
        ),
        migrations.AddField(
            model_name="booking",
            name="calendar_uid",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(give_each_booking_its_own_uid, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="booking",
            name="calendar_uid",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
    ]
