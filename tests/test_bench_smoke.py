"""The benchmarks' set-based loaders, run at a tiny size on the test database.

`make bench` runs by hand and rarely, and its loaders write raw INSERTs: a NOT NULL column
added without a database default breaks them, unseen until someone wants a figure. Here
every loader fills a few rows into today's schema, and the rows read back through the ORM.
"""

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest
from django.db import connection
from psycopg2 import sql

from capture.models import Activity, Lead
from leadfunnel.groups import SALES_REPS
from nurture.models import Delivery, Enrollment
from sales.models import Handoff
from tests.factories import UserFactory, playbook_sequence

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _bench_module(name: str) -> ModuleType:
    # bench/nurture.py, scoring.py and sales.py share the apps' names: load them under
    # other names so they never replace the apps in sys.modules.
    spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> Iterator[SimpleNamespace]:
    # The bench modules import their neighbours (stack, cpu) by plain name. Appended, not
    # prepended, so a bench module can never shadow an app while they load.
    sys.path.append(str(BENCH))
    try:
        yield SimpleNamespace(
            **{name: _bench_module(name) for name in ("nurture", "scoring", "sales", "import_csv")}
        )
    finally:
        sys.path.remove(str(BENCH))


def _database_url() -> str:
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _run(statement: str, params: dict[str, object]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)


@pytest.mark.django_db(transaction=True)  # the loader writes through its own connection
def test_it_loads_nurture_leads_enrollments_and_deliveries(bench: SimpleNamespace) -> None:
    steps = list(playbook_sequence().steps.filter(is_active=True).order_by("day"))
    url = _database_url()
    with bench.nurture._connect(url) as conn, conn.cursor() as cur:
        assert bench.nurture._unloaded_required_columns(cur) == []

    first = bench.nurture.FIRST_LEAD_ID
    bench.nurture.add_leads(
        url,
        first=first,
        count=3,
        sequence=bench.nurture.demo_sequence(url),
        status=Delivery.Status.SCHEDULED,
        due=sql.SQL("now() + k * interval '1 day'"),
    )

    leads = list(Lead.objects.order_by("id"))
    expected = [f"lead-{n}@example.com" for n in range(first, first + 3)]
    assert [lead.email for lead in leads] == expected
    assert all(lead.last_activity_at == lead.created_at for lead in leads)
    assert Enrollment.objects.filter(lead__in=leads, state="active").count() == 3
    assert sorted(Delivery.objects.values_list("enrollment__lead_id", "step_id")) == sorted(
        (lead.id, step.id) for lead in leads for step in steps
    )


@pytest.mark.django_db
def test_it_loads_the_scoring_leads_and_activities(bench: SimpleNamespace) -> None:
    _run(bench.scoring.LEADS_SQL, {"leads": 5})
    first_id = Lead.objects.order_by("id").values_list("id", flat=True)[0]
    _run(bench.scoring.ACTIVITIES_SQL, {"leads": 5, "first_id": first_id})

    leads = list(Lead.objects.order_by("id"))
    assert [lead.company for lead in leads] == [f"Company {i}" for i in range(1, 6)]
    # The form submission, recorded at created_at, is each lead's activity the loader knows.
    assert all(lead.last_activity_at == lead.created_at for lead in leads)
    assert Activity.objects.filter(kind=Activity.Kind.FORM_SUBMITTED).count() == 5


@pytest.mark.django_db
def test_it_loads_the_sales_dashboard_data(bench: SimpleNamespace) -> None:
    UserFactory(username="sales", group=SALES_REPS)  # the loader hands hot leads to "sales"
    _run(bench.sales.LEADS_SQL, {"leads": 20, "tie": bench.sales.TIE_SCORE})
    first_id = Lead.objects.order_by("id").values_list("id", flat=True)[0]
    _run(bench.sales.ACTIVITIES_SQL, {"leads": 20, "first_id": first_id, "activities": 200})
    for statement in (
        bench.sales.LAST_ACTIVITY_SQL,
        bench.sales.SCORE_CHANGES_SQL,
        bench.sales.HANDOFFS_SQL,
    ):
        _run(statement, {})

    hot = list(Lead.objects.filter(temperature=Lead.Temperature.HOT).order_by("id"))
    assert [lead.email for lead in hot] == ["lead10@company10.example", "lead20@company20.example"]
    assert Handoff.objects.filter(lead__in=hot, rep__username="sales").count() == 2
    # Each lead's last activity is its newest activity (or its created time, when later).
    for lead in Lead.objects.all():
        newest = lead.activities.latest("occurred_at").occurred_at
        assert lead.last_activity_at == max(newest, lead.created_at)


@pytest.mark.django_db
def test_it_loads_the_import_baseline_and_existing_leads(bench: SimpleNamespace) -> None:
    _run(bench.import_csv.BASELINE_SQL, {"rows": 3})
    assert sorted(Lead.objects.values_list("email", flat=True)) == [
        f"baseline{i}@example.net" for i in range(1, 4)
    ]
    _run(bench.import_csv.EXISTING_SQL, {"existing": 3})
    assert Lead.objects.filter(email__startswith="row").count() == 3


@pytest.mark.django_db
def test_it_runs_the_journey_tick_benches_at_a_tiny_size() -> None:
    # bench/journeys_driver.py loads its rows in SQL and times the real tick: both here.
    driver = _bench_module("journeys_driver")
    assert driver.unloaded_required_columns() == []
    full = driver.tick_100k(count=30, batch=10)
    assert (full["advanced"], full["claimed"], full["deliveries"]) == (30, 30, 30)
    assert (full["path_rows"], full["at_email"]) == (60, 30)
    # The floor made the same writes for its own (paused) copy, which the tick left alone.
    assert full["floored"] == 30
    assert full["floor_counts"] == {"path_rows": 60, "deliveries": 30, "at_email": 30}
    sparse = driver.tick_sparse(due=5, small=40, large=100, repeats=2, batch=10, first=2_000_000)
    assert (sparse["small"]["rows"], sparse["large"]["rows"]) == (40, 100)
    assert sparse["at_email"] == 5 * 3 * 2
