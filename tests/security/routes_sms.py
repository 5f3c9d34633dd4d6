"""Rows of the authorization table (test_authorization.py) for Twilio's webhooks and the SMS
admin. The webhooks are authenticated by Twilio's signature, never by a user: a GET is 405
for everyone (the signature checks are in tests/nurture/test_sms.py)."""

from tests.security.roles import FORBIDDEN, NOT_ALLOWED, OK, everyone

ROUTES: dict[str, tuple[str, dict[str, str]]] = {
    "sms/twilio/inbound/": ("/sms/twilio/inbound/", everyone(NOT_ALLOWED)),
    "sms/twilio/status/": ("/sms/twilio/status/", everyone(NOT_ALLOWED)),
}
ADMIN_MODELS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    # Marketers keep the SMS suppressions; the texts' log is read-only (nothing to add).
    "nurture.smssuppression": ((OK, OK), (OK, OK)),
    "nurture.smsmessage": ((OK, FORBIDDEN), (OK, FORBIDDEN)),
}


def objects() -> dict[str, object]:
    return {}
