"""Funnel facts per lead, their hourly rollup, and the triggers that keep both current.

PostgreSQL only for the triggers (SQLite's metrics recount their window instead). Every
existing lead is noted for a recount; `manage.py rebuild_funnel_facts` (or the minute's
beat task, or the first metrics read) does it. Reversible: the triggers, functions and
tables go.
"""

import django.db.models.deletion
from django.db import migrations, models

# Which writes note a lead for a recount: (table, the row's lead, WHEN for UPDATE).
# Only the columns the facts read: a lead's score or latest-activity time moving every few
# seconds must not cost a recount.
NOTED = [
    (
        "capture_lead",
        "id",
        "(OLD.created_at, OLD.campaign_id, OLD.source, OLD.stage, OLD.temperature)"
        " IS DISTINCT FROM (NEW.created_at, NEW.campaign_id, NEW.source, NEW.stage,"
        " NEW.temperature)",
        "true",
        "false",
    ),
    (
        "capture_submission",
        "lead_id",
        "(OLD.lead_id, OLD.created_at, OLD.utm_medium)"
        " IS DISTINCT FROM (NEW.lead_id, NEW.created_at, NEW.utm_medium)",
        "true",
        "true",
    ),
    (
        "scoring_scorechange",
        "lead_id",
        "(OLD.lead_id, OLD.new_temperature) IS DISTINCT FROM (NEW.lead_id, NEW.new_temperature)",
        "true",
        "true",
    ),
    ("nurture_enrollment", "lead_id", "OLD.lead_id IS DISTINCT FROM NEW.lead_id", "true", "true"),
    (
        "sales_booking",
        "lead_id",
        "(OLD.lead_id, OLD.status) IS DISTINCT FROM (NEW.lead_id, NEW.status)",
        "true",
        "true",
    ),
    (
        "sales_note",
        "lead_id",
        "(OLD.kind = 'call' OR NEW.kind = 'call') AND (OLD.lead_id, OLD.kind, OLD.created_at)"
        " IS DISTINCT FROM (NEW.lead_id, NEW.kind, NEW.created_at)",
        "NEW.kind = 'call'",
        "OLD.kind = 'call'",
    ),
    (
        "sales_leadchange",
        "lead_id",
        "(OLD.field = 'stage' OR NEW.field = 'stage') AND (OLD.lead_id, OLD.field,"
        " OLD.new_value, OLD.at) IS DISTINCT FROM (NEW.lead_id, NEW.field, NEW.new_value, NEW.at)",
        "NEW.field = 'stage'",
        "OLD.field = 'stage'",
    ),
]

NOTE_FUNCTION = """
CREATE FUNCTION sales_funnel_note_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO sales_funnelrecount (lead_id) VALUES (OLD.{lead}) ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO sales_funnelrecount (lead_id) VALUES (NEW.{lead}) ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER sales_funnel_note_insert AFTER INSERT ON {table}
    FOR EACH ROW WHEN ({on_insert}) EXECUTE FUNCTION sales_funnel_note_{table}();
CREATE TRIGGER sales_funnel_note_update AFTER UPDATE ON {table}
    FOR EACH ROW WHEN ({on_update}) EXECUTE FUNCTION sales_funnel_note_{table}();
"""
NOTE_ON_DELETE = """
CREATE TRIGGER sales_funnel_note_delete AFTER DELETE ON {table}
    FOR EACH ROW WHEN ({on_delete}) EXECUTE FUNCTION sales_funnel_note_{table}();
"""
# A delivery names its enrollment, not its lead. Only a send (sent_at) matters.
DELIVERY_SQL = """
CREATE FUNCTION sales_funnel_note_nurture_delivery() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN
        INSERT INTO sales_funnelrecount (lead_id)
        SELECT lead_id FROM nurture_enrollment WHERE id = OLD.enrollment_id
        ON CONFLICT DO NOTHING;
    END IF;
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO sales_funnelrecount (lead_id)
        SELECT lead_id FROM nurture_enrollment WHERE id = NEW.enrollment_id
        ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER sales_funnel_note_insert AFTER INSERT ON nurture_delivery
    FOR EACH ROW WHEN (NEW.sent_at IS NOT NULL)
    EXECUTE FUNCTION sales_funnel_note_nurture_delivery();
CREATE TRIGGER sales_funnel_note_update AFTER UPDATE ON nurture_delivery
    FOR EACH ROW WHEN ((OLD.sent_at, OLD.step_id, OLD.enrollment_id)
        IS DISTINCT FROM (NEW.sent_at, NEW.step_id, NEW.enrollment_id))
    EXECUTE FUNCTION sales_funnel_note_nurture_delivery();
CREATE TRIGGER sales_funnel_note_delete AFTER DELETE ON nurture_delivery
    FOR EACH ROW WHEN (OLD.sent_at IS NOT NULL)
    EXECUTE FUNCTION sales_funnel_note_nurture_delivery();
"""
# The hourly rollup follows the facts per statement (a rebuild's 5,000-row upsert is one
# grouped upsert here, not 5,000): what left a group is subtracted, what entered added.
ROLLUP_SELECT = """
SELECT date_trunc('hour', created_at, 'UTC'), campaign_id, source, medium,
    sum(sign), sum(sign) FILTER (WHERE nurtured), sum(sign) FILTER (WHERE quality),
    sum(sign) FILTER (WHERE hot), sum(sign) FILTER (WHERE booked),
    sum(sign) FILTER (WHERE won)
FROM ({rows}) AS moved
GROUP BY 1, 2, 3, 4
-- A fact that moved within its group (its Day-1 email went out) changes no count.
HAVING sum(sign) <> 0 OR sum(sign) FILTER (WHERE nurtured) <> 0
    OR sum(sign) FILTER (WHERE quality) <> 0 OR sum(sign) FILTER (WHERE hot) <> 0
    OR sum(sign) FILTER (WHERE booked) <> 0 OR sum(sign) FILTER (WHERE won) <> 0
ORDER BY 1, 2, 3, 4
"""
ROLLUP_UPSERT = """
INSERT INTO sales_funnelhour AS h
    (hour, campaign_id, source, medium, leads, nurtured, quality, hot, booked, won)
SELECT hour, campaign_id, source, medium, leads, coalesce(nurtured, 0), coalesce(quality, 0),
    coalesce(hot, 0), coalesce(booked, 0), coalesce(won, 0)
FROM ({select}) AS grouped (hour, campaign_id, source, medium, leads, nurtured, quality, hot,
    booked, won)
ON CONFLICT (hour, campaign_id, source, medium) DO UPDATE SET
    leads = h.leads + EXCLUDED.leads, nurtured = h.nurtured + EXCLUDED.nurtured,
    quality = h.quality + EXCLUDED.quality, hot = h.hot + EXCLUDED.hot,
    booked = h.booked + EXCLUDED.booked, won = h.won + EXCLUDED.won;
"""
NEW_ROWS = "SELECT *, 1 AS sign FROM new_facts"
OLD_ROWS = "SELECT *, -1 AS sign FROM old_facts"
ROLLUP_SQL = """
CREATE UNIQUE INDEX funnelhour_one_row_per_group
    ON sales_funnelhour (hour, campaign_id, source, medium) NULLS NOT DISTINCT;
CREATE FUNCTION sales_funnelhour_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {on_insert}
    ELSIF TG_OP = 'UPDATE' THEN
        {on_update}
    ELSE
        {on_delete}
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER sales_funnelhour_on_insert AFTER INSERT ON sales_funnelfact
    REFERENCING NEW TABLE AS new_facts
    FOR EACH STATEMENT EXECUTE FUNCTION sales_funnelhour_follow();
CREATE TRIGGER sales_funnelhour_on_update AFTER UPDATE ON sales_funnelfact
    REFERENCING OLD TABLE AS old_facts NEW TABLE AS new_facts
    FOR EACH STATEMENT EXECUTE FUNCTION sales_funnelhour_follow();
CREATE TRIGGER sales_funnelhour_on_delete AFTER DELETE ON sales_funnelfact
    REFERENCING OLD TABLE AS old_facts
    FOR EACH STATEMENT EXECUTE FUNCTION sales_funnelhour_follow();
""".format(
    on_insert=ROLLUP_UPSERT.format(select=ROLLUP_SELECT.format(rows=NEW_ROWS)),
    on_update=ROLLUP_UPSERT.format(
        select=ROLLUP_SELECT.format(rows=f"{NEW_ROWS} UNION ALL {OLD_ROWS}")
    ),
    on_delete=ROLLUP_UPSERT.format(select=ROLLUP_SELECT.format(rows=OLD_ROWS)),
)


def install_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    statements = [ROLLUP_SQL, DELIVERY_SQL]
    for table, lead, on_update, on_insert, on_delete in NOTED:
        statements.append(
            NOTE_FUNCTION.format(table=table, lead=lead, on_update=on_update, on_insert=on_insert)
        )
        if on_delete != "false":
            statements.append(NOTE_ON_DELETE.format(table=table, on_delete=on_delete))
    # Every lead there is: the first recount fills the facts.
    statements.append("INSERT INTO sales_funnelrecount (lead_id) SELECT id FROM capture_lead")
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


def remove_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    statements = ["DROP FUNCTION sales_funnelhour_follow() CASCADE"]
    for table in [*(row[0] for row in NOTED), "nurture_delivery"]:
        statements.append(f"DROP FUNCTION sales_funnel_note_{table}() CASCADE")
    with schema_editor.connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("capture", "0011_submission_outbox"),
        ("nurture", "0012_subscription_topics"),
        ("scoring", "0003_cap_consultation_booked"),
        ("sales", "0010_saved_views"),
    ]

    operations = [
        migrations.CreateModel(
            name="FunnelHour",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hour", models.DateTimeField()),
                ("campaign_id", models.BigIntegerField(blank=True, null=True)),
                ("source", models.CharField(blank=True, max_length=100)),
                ("medium", models.CharField(blank=True, max_length=100, null=True)),
                ("leads", models.IntegerField(default=0)),
                ("nurtured", models.IntegerField(default=0)),
                ("quality", models.IntegerField(default=0)),
                ("hot", models.IntegerField(default=0)),
                ("booked", models.IntegerField(default=0)),
                ("won", models.IntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="FunnelRecount",
            fields=[
                ("lead_id", models.BigIntegerField(primary_key=True, serialize=False)),
            ],
        ),
        migrations.CreateModel(
            name="FunnelFact",
            fields=[
                (
                    "lead",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="funnel_fact",
                        serialize=False,
                        to="capture.lead",
                    ),
                ),
                ("created_at", models.DateTimeField()),
                ("source", models.CharField(blank=True, max_length=100)),
                ("medium", models.CharField(blank=True, max_length=100, null=True)),
                ("nurtured", models.BooleanField(default=False)),
                (
                    "quality",
                    models.BooleanField(
                        default=False, help_text="Ever warm or hot, or warm/hot now."
                    ),
                ),
                ("hot", models.BooleanField(default=False, help_text="Ever hot, or hot now.")),
                ("booked", models.BooleanField(default=False)),
                ("won", models.BooleanField(default=False)),
                ("first_email_at", models.DateTimeField(blank=True, null=True)),
                ("first_contact_at", models.DateTimeField(blank=True, null=True)),
                (
                    "campaign",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="capture.campaign",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["created_at"], name="funnelfact_created_idx"),
                    models.Index(
                        condition=models.Q(("first_email_at__isnull", False)),
                        fields=["created_at", "first_email_at"],
                        name="funnelfact_email_idx",
                    ),
                    models.Index(
                        condition=models.Q(("first_contact_at__isnull", False)),
                        fields=["created_at", "first_contact_at"],
                        name="funnelfact_contact_idx",
                    ),
                    models.Index(
                        condition=models.Q(("first_email_at__isnull", True), ("nurtured", True)),
                        fields=["created_at"],
                        name="funnelfact_email_due_idx",
                    ),
                ],
            },
        ),
        migrations.RunPython(install_triggers, remove_triggers, elidable=False),
    ]
