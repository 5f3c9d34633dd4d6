"""SMS consent on the lead, and phone numbers already stored put into E.164.

A stored number is read as one of its lead's country, else of PHONENUMBER_DEFAULT_REGION;
one that does not parse as a valid number is left as it was (it is simply never texted).
Reversing drops the consent columns and keeps the numbers in E.164: the typed spellings
were not kept, and E.164 is a valid value of the old free-text column.
"""

from typing import Any

import phonenumbers
from django.conf import settings
from django.db import migrations, models


def _e164(raw: str, region: str | None) -> str | None:
    try:
        number = phonenumbers.parse(raw, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_phones(apps: Any, schema_editor: Any) -> None:
    Lead = apps.get_model("capture", "Lead")
    default_region = getattr(settings, "PHONENUMBER_DEFAULT_REGION", "") or None
    leads = Lead.objects.exclude(phone="").only("pk", "phone", "country")
    changed = []
    for lead in leads.iterator(chunk_size=2000):
        e164 = _e164(lead.phone, str(lead.country or "").upper() or default_region)
        if e164 is not None and e164 != lead.phone:
            lead.phone = e164
            changed.append(lead)
    Lead.objects.bulk_update(changed, ["phone"], batch_size=2000)


class Migration(migrations.Migration):
    dependencies = [
        ("capture", "0006_lead_claim_permission_embed_origins_https"),
    ]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="sms_consent_given_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="SMS consent given at"),
        ),
        migrations.AddField(
            model_name="lead",
            name="sms_consent_text",
            field=models.TextField(
                blank=True, default="", db_default="", verbose_name="SMS consent text"
            ),
        ),
        migrations.RunPython(normalise_phones, migrations.RunPython.noop),
    ]
