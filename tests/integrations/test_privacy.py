"""Privacy requests: export everything about a lead, erase it everywhere, audit both."""

from datetime import timedelta
from typing import Any

import pytest
from django.apps import apps
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection, models
from django.test import Client
from django.utils import timezone

from api.models import IdempotencyKey
from capture.models import Activity, LandingPage, Lead, Submission
from capture.services import Tracking, capture_submission
from integrations.models import PrivacyRequest
from integrations.services.privacy import erase_lead, export_lead_data
from nurture.models import Delivery, Enrollment, Suppression
from nurture.services.dispatching import claim_due_deliveries
from nurture.services.scheduling import enroll_lead
from nurture.services.sending import send_delivery
from sales.models import Booking, Handoff, LeadChange, Note, RepProfile
from scoring.models import ScoreChange
from tests.factories import FitRuleFactory, LandingPageFactory, LeadFactory, playbook_sequence
from tests.integrations.factories import marketer, sales_rep
from webhooks.models import Event, EventType

pytestmark = pytest.mark.django_db

EMAIL = "zenobia.quixotica@example.org"
# Distinctive, so a scan for them finds only this person's data.
FIRST, LAST, PHONE, COMPANY = "Zenobia", "Quixotica", "+44 7700 900123", "Quasar Widgets"
TITLE = "Chief Zeppelin Officer"


@pytest.fixture
def page() -> LandingPage:
    page = LandingPageFactory(slug="free-consultation")
    playbook_sequence(page=page)
    FitRuleFactory(value="zeppelin")  # so capture writes a ScoreChange
    return page


@pytest.fixture
def person(page: LandingPage, django_capture_on_commit_callbacks: Any) -> Lead:
    """A lead with something in every table that can hold data about it."""
    data = {
        "email": EMAIL.upper(),
        "first_name": FIRST,
        "last_name": LAST,
        "phone": PHONE,
        "company": COMPANY,
        "job_title": TITLE,
        "time_zone": "Europe/London",
    }
    tracking = Tracking(
        utm={"utm_source": "google", "utm_campaign": "spring"},
        referrer=f"https://partner.example/list?who={EMAIL}",
        user_agent="Mozilla/5.0 (Zenobia's laptop)",
        ip="203.0.113.7",
    )
    with django_capture_on_commit_callbacks(execute=True):
        lead = capture_submission(
            page=page, data=data, tracking=tracking, answer="Within a month", consent_given=True
        ).lead
    now = timezone.now()
    Activity.objects.bulk_create(
        [
            Activity(
                lead=lead,
                kind=Activity.Kind.PAGE_VIEWED,
                occurred_at=now,
                metadata={
                    "url": f"https://example.com/pricing?email={EMAIL}",
                    "title": f"Pricing for {FIRST}",
                    "referrer": "https://mail.example",
                },
            ),
            Activity(
                lead=lead,
                kind=Activity.Kind.EMAIL_CLICKED,
                occurred_at=now,
                metadata={
                    "delivery_id": 1,
                    "link": f"https://example.com/book?n={LAST}",
                    "user_agent": "Zenobia's phone",
                },
            ),
            Activity(
                lead=lead,
                kind=Activity.Kind.CUSTOM,
                occurred_at=now,
                metadata={"name": "webinar_joined", "properties": {"phone": PHONE}},
            ),
        ]
    )
    rep_user = User.objects.create(username="rita")
    rep = RepProfile.objects.create(user=rep_user)
    starts_at = now + timedelta(days=2)
    Booking.objects.create(
        lead=lead, rep=rep, starts_at=starts_at, ends_at=starts_at + timedelta(minutes=30)
    )
    Note.objects.create(lead=lead, author=rep_user, body=f"Called {FIRST} on {PHONE}.")
    LeadChange.objects.create(
        lead=lead,
        actor=rep_user,
        field=LeadChange.Field.STAGE,
        old_value="new",
        new_value="contacted",
        reason=f"{FIRST} {LAST} asked for a call",
    )
    Handoff.objects.create(lead=lead, turned_hot_at=now, rep=rep_user)
    Delivery.objects.filter(enrollment__lead=lead).update(
        last_error=f"550 5.1.1 <{EMAIL}>: mailbox full"
    )
    # Tables that never point at the lead but hold its data: a webhook event, a stored API
    # answer replayed for retries.
    body = {
        "lead": {
            "id": lead.pk,
            "email": EMAIL,
            "first_name": FIRST,
            "last_name": LAST,
            "phone": PHONE,
            "company": COMPANY,
        }
    }
    Event.objects.create(type=EventType.LEAD_CREATED, payload=body)
    # A marketer once edited the lead and its note in the admin: the history names them.
    for obj in (lead, Note.objects.get(lead=lead)):
        LogEntry.objects.log_actions(
            user_id=rep_user.pk, queryset=[obj], action_flag=CHANGE, change_message="Changed."
        )
    IdempotencyKey.objects.create(
        caller="user:1",
        key="k-1",
        method="POST",
        path="/api/v1/leads/",
        fingerprint="0" * 64,
        status_code=201,
        response_body=body,
    )
    return Lead.objects.get(pk=lead.pk)


def _text_columns() -> list[tuple[type[models.Model], models.Field]]:
    found = []
    for model in apps.get_models():
        if not model._meta.managed or model._meta.proxy:
            continue
        for field in model._meta.concrete_fields:
            if isinstance(field, models.CharField | models.TextField | models.JSONField):
                found.append((model, field))
    return found


def _where_found(value: str) -> set[str]:
    """Every table.column whose text holds `value`, in any case: the whole database."""
    hits = set()
    with connection.cursor() as cursor:
        for model, field in _text_columns():
            table, column = model._meta.db_table, field.column
            cursor.execute(
                f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE %s',  # noqa: S608
                [f"%{value}%"],
            )
            if cursor.fetchone()[0]:
                hits.add(f"{table}.{column}")
    return hits


def _row_counts() -> dict[str, int]:
    return {
        model._meta.label: model.objects.count()
        for model in apps.get_models()
        if model._meta.managed and not model._meta.proxy
    }


def test_the_fixture_really_spreads_the_person_over_many_tables(person: Lead) -> None:
    """Guards the erase test: without the data in place it would prove nothing."""
    assert _where_found(EMAIL) >= {
        "capture_lead.email",
        "capture_submission.data",
        "capture_submission.referrer",
        "capture_activity.metadata",
        "nurture_delivery.last_error",
        "webhooks_event.payload",
        "api_idempotencykey.response_body",
    }
    assert _where_found(FIRST) >= {
        "capture_lead.first_name",
        "django_admin_log.object_repr",
        "sales_note.body",
        "sales_leadchange.reason",
        "capture_activity.metadata",
    }
    assert "capture_submission.user_agent" in _where_found("Zenobia's laptop")
    assert Submission.objects.get(lead=person).ip_hash


def test_erasing_leaves_no_personal_data_in_any_table_and_keeps_the_counts(
    person: Lead,
) -> None:
    actor = marketer()
    counts = _row_counts()
    uid_before = person.uid

    erase_lead(lead_id=person.pk, actor=actor, reason="Ticket 4711")

    # The one kept copy of the address is the suppression entry that stops all mail.
    assert _where_found(EMAIL) == {"nurture_suppression.email"}
    assert Suppression.objects.filter(email__icontains=EMAIL).count() == 1
    # The name is part of that address; nowhere else.
    assert _where_found(FIRST) == _where_found(LAST) == {"nurture_suppression.email"}
    for value in (PHONE, COMPANY, TITLE, "Zenobia's laptop", "Zenobia's phone"):
        assert _where_found(value) == set(), value
    after = _row_counts()
    assert after.pop("integrations.PrivacyRequest") == counts.pop("integrations.PrivacyRequest") + 1
    assert after.pop("nurture.Suppression") == counts.pop("nurture.Suppression") + 1
    assert after == counts  # every other row is still there

    person.refresh_from_db()
    assert person.email == f"erased-{person.uid.hex}@erased.invalid"
    assert (person.first_name, person.last_name, person.phone, person.company) == ("",) * 4
    assert person.answers == {}
    assert person.source == "google"  # attribution is not personal: funnels stay right
    submission = Submission.objects.get(lead=person)
    assert (submission.data, submission.referrer, submission.user_agent, submission.ip_hash) == (
        {},
        "",
        "",
        "",
    )
    assert submission.utm_campaign == "spring"
    kinds = dict(Activity.objects.filter(lead=person).values_list("kind", "metadata"))
    assert kinds["page_viewed"] == {"url": "https://example.com/pricing"}
    assert kinds["email_clicked"] == {"delivery_id": 1, "link": "https://example.com/book"}
    assert kinds["custom"] == {"name": "webinar_joined"}
    assert Event.objects.get().payload["lead"] == {
        "id": person.pk,
        "email": person.email,
        "first_name": "",
        "last_name": "",
        "phone": "",
        "company": "",
    }

    audit = PrivacyRequest.objects.get()
    assert (audit.kind, audit.lead_id, audit.lead_uid) == ("erase", person.pk, uid_before)
    assert person.uid != uid_before
    assert (audit.actor, audit.reason) == (actor, "Ticket 4711")
    assert audit.completed_at is not None


def test_erasing_leaves_longer_addresses_that_contain_it_alone(person: Lead) -> None:
    bystanders = [f"jo{EMAIL}", f"{EMAIL}.au", f"x.{EMAIL}"]
    for address in bystanders:
        LeadFactory(email=address)
    Note.objects.create(
        lead=Lead.objects.get(email=bystanders[0]),
        author=User.objects.get(),
        body=f"Not {EMAIL} but {bystanders[1]}.",
    )

    erase_lead(lead_id=person.pk, actor=None, reason="")

    assert set(Lead.objects.exclude(pk=person.pk).values_list("email", flat=True)) == {*bystanders}
    erased = Lead.objects.get(pk=person.pk).email
    assert Note.objects.get(lead__email=bystanders[0]).body == f"Not {erased} but {bystanders[1]}."


def test_an_erased_address_is_never_mailed_again(
    person: Lead, page: LandingPage, django_capture_on_commit_callbacks: Any
) -> None:
    assert Enrollment.objects.filter(lead=person, state="active").exists()

    erase_lead(lead_id=person.pk, actor=None, reason="")

    assert not Enrollment.objects.filter(lead=person, state="active").exists()
    assert not Delivery.objects.filter(enrollment__lead=person, status="scheduled").exists()
    # The person fills in the form again months later: a new lead, enrolled, never mailed.
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        again = capture_submission(page=page, data={"email": EMAIL}, tracking=Tracking()).lead
        enroll_lead(lead=again, sequence=playbook_sequence())
    for delivery_id in claim_due_deliveries(limit=100, now=timezone.now() + timedelta(days=30)):
        send_delivery(delivery_id=delivery_id)
    assert mail.outbox == []
    assert Delivery.objects.filter(enrollment__lead=again, status="sent").count() == 0


def test_erasing_twice_is_harmless(person: Lead) -> None:
    erase_lead(lead_id=person.pk, actor=None, reason="")
    erase_lead(lead_id=person.pk, actor=None, reason="again")

    assert PrivacyRequest.objects.filter(kind="erase").count() == 2
    assert Suppression.objects.count() == 1


def test_erasing_voids_the_persons_tracking_cookie_and_booking_link(person: Lead) -> None:
    from capture.tracking import lead_for_tracking_token, tracking_token
    from nurture.tokens import booking_token
    from sales.services.booking import lead_for_booking_token

    cookie, booking = tracking_token(person.uid), booking_token(lead_uid=str(person.uid))
    assert lead_for_tracking_token(cookie) == person

    erase_lead(lead_id=person.pk, actor=None, reason="asked by email")

    assert lead_for_tracking_token(cookie) is None
    with pytest.raises(Lead.DoesNotExist):  # the booking page answers this with a 404
        lead_for_booking_token(token=booking)


def test_the_export_holds_every_related_object(person: Lead) -> None:
    data = export_lead_data(lead_id=person.pk)

    assert data["lead"]["email"] == EMAIL
    assert data["lead"]["phone"] == PHONE
    expected = {
        "capture.submission": Submission.objects.filter(lead=person).count(),
        "capture.activity": Activity.objects.filter(lead=person).count(),
        "scoring.scorechange": ScoreChange.objects.filter(lead=person).count(),
        "nurture.enrollment": 1,
        "nurture.delivery": 5,
        "sales.note": 1,
        "sales.leadchange": 1,
        "sales.booking": 1,
        "sales.handoff": 1,
    }
    assert {key: len(data[key]) for key in expected} == expected
    assert expected["scoring.scorechange"] >= 1
    assert data["capture.submission"][0]["referrer"].endswith(EMAIL)
    assert data["sales.note"][0]["body"] == f"Called {FIRST} on {PHONE}."
    assert data["suppressions"] == []
    audit = PrivacyRequest.objects.get()
    assert (audit.kind, audit.lead_id, audit.completed_at is not None) == (
        "export",
        person.pk,
        True,
    )


# The API ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("who", "export_status", "erase_status"),
    [("anonymous", 401, 401), ("sales rep", 403, 403), ("marketer", 200, 200)],
)
def test_the_api_endpoints_need_the_privacy_permission(
    client: Client, who: str, export_status: int, erase_status: int
) -> None:
    lead = LeadFactory(email="ann@example.com")
    user = {"anonymous": None, "sales rep": sales_rep, "marketer": marketer}[who]
    if user is not None:
        client.force_login(user())

    exported = client.get(f"/api/v1/leads/{lead.pk}/privacy-export/")
    erased = client.post(
        f"/api/v1/leads/{lead.pk}/erase/", {"reason": "ticket 1"}, content_type="application/json"
    )

    assert (exported.status_code, erased.status_code) == (export_status, erase_status)
    if who == "marketer":
        assert exported.json()["lead"]["email"] == "ann@example.com"
        assert erased.json()["lead_uid"] == str(lead.uid)
        assert list(PrivacyRequest.objects.values_list("kind", flat=True)) == ["erase", "export"]
    else:
        assert exported.json()["error"]["code"] in ("not_authenticated", "permission_denied")
        assert not PrivacyRequest.objects.exists()
        assert Lead.objects.get().email == "ann@example.com"


def test_the_api_answers_404_for_an_unknown_lead_and_400_for_a_bad_reason(
    client: Client,
) -> None:
    client.force_login(marketer())
    lead = LeadFactory()

    assert client.get("/api/v1/leads/999999/privacy-export/").status_code == 404
    bad = client.post(
        f"/api/v1/leads/{lead.pk}/erase/", {"reason": "x" * 501}, content_type="application/json"
    )
    assert bad.status_code == 400
    assert "reason" in bad.json()["error"]["fields"]
    assert not PrivacyRequest.objects.exists()


# The admin: two clicks -------------------------------------------------------------------


def test_a_marketer_exports_a_lead_from_the_admin_in_one_click(client: Client) -> None:
    lead = LeadFactory(email="ann@example.com")
    client.force_login(marketer())

    form = {"email": " ANN@example.com", "kind": "export", "reason": ""}
    response = client.post("/admin/integrations/privacyrequest/add/", form)

    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="lead-{lead.uid}.json"'
    assert response.json()["lead"]["email"] == "ann@example.com"


def test_a_marketer_erases_a_lead_from_the_admin_in_two_clicks(client: Client) -> None:
    lead = LeadFactory(email="ann@example.com")
    client.force_login(marketer())

    form = {"email": "ann@example.com", "kind": "erase", "reason": "T-9"}
    confirm = client.post("/admin/integrations/privacyrequest/add/", form)
    assert confirm.status_code == 200
    assert b"Yes, erase this lead" in confirm.content
    assert Lead.objects.get().email == "ann@example.com"  # nothing happens before click two

    done = client.post(f"/admin/integrations/privacyrequest/erase/{lead.pk}/", {"reason": "T-9"})

    assert done.status_code == 302
    assert Lead.objects.get().email.endswith("@erased.invalid")
    assert PrivacyRequest.objects.get().reason == "T-9"
    assert Suppression.objects.filter(email="ann@example.com").exists()


def test_the_admin_form_names_an_unknown_address(client: Client) -> None:
    client.force_login(marketer())

    response = client.post(
        "/admin/integrations/privacyrequest/add/", {"email": "nobody@example.com", "kind": "erase"}
    )

    assert response.status_code == 200
    assert b"No lead has this email address." in response.content
