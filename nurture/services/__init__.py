"""Nurture's writes, by subject: scheduling, dispatching, sending, engagement."""
