"""Trigram indexes for the dashboard's search (`icontains` on name, email, company).

Django's `icontains` on PostgreSQL is `UPPER(col::text) LIKE UPPER('%term%')`, so each index
is on that expression. PostgreSQL only: SQLite (`make run`) has no pg_trgm and searches by scan.
Creating the extension needs a role allowed to (a superuser, or pg_trgm as a trusted
extension, which it is from PostgreSQL 13 for a database owner).
"""

from django.db import migrations

COLUMNS = ("email", "first_name", "last_name", "company")


def create_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for column in COLUMNS:
        schema_editor.execute(
            f"CREATE INDEX IF NOT EXISTS lead_{column}_trgm_idx ON capture_lead "
            f"USING gin ((UPPER({column}::text)) gin_trgm_ops)"
        )


def drop_indexes(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in COLUMNS:
        schema_editor.execute(f"DROP INDEX IF EXISTS lead_{column}_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [("capture", "0004_lead_last_activity_at")]

    operations = [migrations.RunPython(create_indexes, drop_indexes)]
