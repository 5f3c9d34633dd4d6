"""Rules for what a lead's own fields may hold, shared by every way a lead comes in: the
landing-page form (and the capture API, which validates through it) and the CSV import."""

import re
import unicodedata
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from phonenumber_field.phonenumber import PhoneNumber
from phonenumbers import NumberParseException

from leadfunnel.zones import time_zone_country

NAME_WITH_WEB_ADDRESS = "Names can't contain web addresses."
COMPANY_WITH_WEB_ADDRESS = "Enter the company's name, not a web address (Booking, not booking.com)."
JOB_TITLE_WITH_WEB_ADDRESS = "Enter a job title without a web address."
# What spam bots and phishers put into name fields: a scheme (https://, ftp://), "www.", an
# IP address, or any host-like token, letters "." letters (two or more): evil.ly and
# casino.ai as much as evil.com, since new top-level domains appear every year and mail
# clients link them all. A dot inside a name ("J. R.", "St. John", "J.R.") does not match:
# after it comes a space or a single letter.
_WEB_ADDRESS = re.compile(
    r"[^\W\d_][\w+.-]*://|\bwww\.|\b\d{1,3}(?:\.\d{1,3}){3}\b|"
    r"[\w-]\.[^\W\d_]{2,}",
)
# Full stops NFKC leaves as they are: the ideographic one (evil。com) reads as a dot, and
# some mail clients link it as one.
_FULL_STOPS = str.maketrans(dict.fromkeys("\u3002\uff61\uff0e", "."))


def _as_read(value: str) -> str:
    """`value` as a reader (and a mail client's linker) sees it: compatibility forms folded
    (ｅｖｉｌ．ｃｏｍ is evil.com), every full stop a ".", invisible format characters
    (zero-width spaces, joiners) dropped, so none of them can hide a web address."""
    folded = unicodedata.normalize("NFKC", value).translate(_FULL_STOPS)
    return "".join(char for char in folded if unicodedata.category(char) != "Cf")


def has_web_address(value: str) -> bool:
    return bool(_WEB_ADDRESS.search(_as_read(value)))


def validate_person_name(value: str) -> None:
    """Refuse a first or last name that carries a web address.

    A name is printed into the company's own emails; a link there is a phishing link with
    our signature on it (and bots fill name fields with links).
    """
    if has_web_address(value):
        raise ValidationError(NAME_WITH_WEB_ADDRESS, code="web_address")


def validate_company_name(value: str) -> None:
    """Refuse a company that carries a web address: emails print it as they print a name
    ("Thanks for your interest, {{ company }}"), so it is as good a place for a link."""
    if has_web_address(value):
        raise ValidationError(COMPANY_WITH_WEB_ADDRESS, code="web_address")


def validate_job_title(value: str) -> None:
    """Refuse a job title that carries a web address: `{{ job_title }}` is a merge field too."""
    if has_web_address(value):
        raise ValidationError(JOB_TITLE_WITH_WEB_ADDRESS, code="web_address")


INVALID_PHONE = "Enter a valid phone number, with its country code, e.g. +44 20 7946 0958."


def normalise_phone(value: str, *, country: str = "", time_zone: str = "") -> str:
    """The one form a phone number is stored in: E.164 (`+442079460958`), or ValidationError.

    A number written without its country code is read as one of `country` (the lead's),
    else of the country of `time_zone` (its browser's), else of PHONENUMBER_DEFAULT_REGION.
    Only numbers that phonenumbers holds valid for their region pass: SMS is sent to exactly
    what is stored, so a number Twilio would refuse is refused here, where the person can
    still correct it.
    """
    region = (
        country or time_zone_country(time_zone) or settings.PHONENUMBER_DEFAULT_REGION or ""
    ).upper()
    try:
        number = PhoneNumber.from_string(value.strip(), region=region or None)
    except NumberParseException:
        number = None
    if number is None or not number.is_valid():
        raise ValidationError(INVALID_PHONE, code="invalid_phone")
    return str(number.as_e164)


HEX_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
INVALID_COLOR = "Enter a colour as #rrggbb, e.g. #0b5ed7."


def validate_hex_color(value: str) -> None:
    """Only `#rrggbb`: a colour goes into a style attribute, where anything else (`;`,
    `url(…)`, quotes) could add rules or leave the attribute."""
    if not HEX_COLOR.fullmatch(value or ""):
        raise ValidationError(INVALID_COLOR, code="invalid_color")


def validate_http_url(value: str) -> None:
    """A link we print for prospects: http or https only (URLField also takes ftp)."""
    if value and not value.lower().startswith(("http://", "https://")):
        raise ValidationError("Enter a link that starts with https:// or http://.", code="scheme")


# Pillow is not in the lock, so an image is recognised by its first bytes. SVG is refused
# on purpose: it can carry scripts. What we serve is labelled with the type found here.
_IMAGE_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)
INVALID_IMAGE = "Upload a PNG, JPEG, GIF or WebP image."


def image_type(head: bytes) -> str:
    """The image MIME type the bytes start with, or "" when they are none we accept."""
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return next((mime for magic, mime in _IMAGE_SIGNATURES if head.startswith(magic)), "")


def validate_image_upload(file: Any) -> None:
    """Size first (settings.CAPTURE_IMAGE_MAX_BYTES), then the type by magic bytes."""
    if getattr(file, "_committed", False):
        return  # stored already, so checked when it was uploaded
    limit = settings.CAPTURE_IMAGE_MAX_BYTES
    if file.size > limit:
        raise ValidationError(
            f"The image is {file.size / 1_000_000:.1f} MB; the limit is "
            f"{limit / 1_000_000:.0f} MB.",
            code="too_large",
        )
    position = file.tell() if hasattr(file, "tell") else 0
    file.seek(0)
    head = file.read(12)
    file.seek(position)
    if not image_type(head):
        raise ValidationError(INVALID_IMAGE, code="not_an_image")
