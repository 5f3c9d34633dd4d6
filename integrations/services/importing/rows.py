"""Reading and validating an import's rows: each CSV row cleaned into Lead attributes, or
the reasons it cannot be imported (kept by row number, never quoting the value)."""

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models
from django_countries import countries

from capture.models import Campaign, Lead
from capture.services import normalise_email
from capture.validators import normalise_phone, validate_person_name
from integrations.models import LeadImport
from leadfunnel.zones import is_time_zone

# Lead fields a column may fill, in the mapping page's order.
FIELDS: dict[str, str] = {
    "email": "Email",
    "first_name": "First name",
    "last_name": "Last name",
    "phone": "Phone",
    "company": "Company",
    "job_title": "Job title",
    "company_size": "Company size",
    "industry": "Industry",
    "country": "Country",
    "time_zone": "Time zone",
    "source": "Source (first touch)",
    "campaign": "Campaign (utm_campaign key or name)",
}


@dataclass
class RowResult:
    number: int  # the spreadsheet's row number: the header is row 1
    values: dict[str, Any] = field(default_factory=dict)  # lead field → cleaned value
    errors: list[dict[str, Any]] = field(default_factory=list)


LEAD_COLUMNS = [name for name in FIELDS if name not in ("email", "campaign")] + ["campaign_id"]


FIRST_TOUCH = frozenset({"source", "campaign_id"})
_NAME_FIELDS = frozenset({"first_name", "last_name"})


def lead_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validated row values as Lead attributes (the email included)."""
    return {
        ("campaign_id" if name == "campaign" else name): value for name, value in values.items()
    }


def validated_rows(lead_import: LeadImport) -> Iterator[RowResult]:
    mapping = {column: name for column, name in lead_import.mapping.items() if name in FIELDS}
    index_of = {header: index for index, header in enumerate(lead_import.headers)}
    columns = [(index_of[column], name) for column, name in mapping.items() if column in index_of]
    campaigns = _campaign_keys()
    first_row_of: dict[str, int] = {}
    reader = csv.reader(
        io.StringIO(lead_import.csv_text, newline=""), delimiter=lead_import.delimiter
    )
    next(reader, None)
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        row = RowResult(number=reader.line_num)
        for index, name in columns:
            raw = cells[index].strip() if index < len(cells) else ""
            if not raw:
                continue
            value, message = _clean(name, raw, campaigns)
            if message:
                row.errors.append({"row": row.number, "field": name, "message": message})
            else:
                row.values[name] = value
        if "phone" in row.values:
            # After the loop: a number without its country code is read in the row's country.
            try:
                row.values["phone"] = normalise_phone(
                    row.values["phone"], country=row.values.get("country") or ""
                )
            except ValidationError as error:
                del row.values["phone"]
                row.errors.append(
                    {"row": row.number, "field": "phone", "message": " ".join(error.messages)}
                )
        email = row.values.get("email")
        if email is None and not any(error["field"] == "email" for error in row.errors):
            row.errors.append({"row": row.number, "field": "email", "message": "Email is missing."})
        elif email is not None:
            first = first_row_of.setdefault(email, row.number)
            if first != row.number:
                message = f"Duplicate of row {first} in this file."
                row.errors.append({"row": row.number, "field": "email", "message": message})
        yield row


def _clean(name: str, raw: str, campaigns: Mapping[str, int]) -> tuple[Any, str]:
    """(cleaned value, "") or (None, what is wrong). Messages never quote the value: row
    errors are kept after the file is gone."""
    if name == "email":
        email = normalise_email(raw)
        try:
            validate_email(email)
        except ValidationError:
            return None, "Not a valid email address."
        if len(email) > _max_length("email"):
            return None, f"Longer than {_max_length('email')} characters."
        return email, ""
    if name == "campaign":
        campaign_id = campaigns.get(raw.lower())
        return (campaign_id, "") if campaign_id else (None, "No campaign with this key or name.")
    if name == "country":
        code = countries.alpha2(raw) or countries.by_name(raw)
        return (code, "") if code else (None, "Not a country name or ISO code.")
    if name == "time_zone":
        return (raw, "") if is_time_zone(raw) else (None, "Not an IANA time zone name.")
    if name == "company_size":
        size = _company_sizes().get(raw.replace("–", "-").replace(",", "").lower())
        return (size, "") if size else (None, "Not one of the company sizes.")
    if len(raw) > _max_length(name):
        return None, f"Longer than {_max_length(name)} characters."
    if name in _NAME_FIELDS:
        try:
            validate_person_name(raw)
        except ValidationError as error:
            return None, " ".join(error.messages)
    return raw, ""


@cache
def _max_length(name: str) -> int:
    lead_field = Lead._meta.get_field(name)
    if not isinstance(lead_field, models.Field):  # the mapping offers only the lead's columns
        raise ValueError(f"Lead.{name} is not a column")
    return int(lead_field.max_length or 0)


@cache
def _company_sizes() -> dict[str, str]:
    sizes = {}
    for value, label in Lead.CompanySize.choices:
        sizes[value.lower()] = value
        sizes[str(label).replace("–", "-").replace(",", "").lower()] = value
    return sizes


def _campaign_keys() -> dict[str, int]:
    keys: dict[str, int] = {}
    for pk, name, key in Campaign.objects.values_list("pk", "name", "utm_campaign"):
        keys.setdefault(name.lower(), pk)
        keys[key.lower()] = pk  # the key wins over another campaign's name
    return keys
