"""What the figures share: the system under test, PostgreSQL, accounting, wrk, the form."""
