"""The API's clients per role (tests/api/conftest.py), for the API tests that live here."""

from tests.api.conftest import admin_api, marketer_api, marketer_user, rep, rep_api

__all__ = ["admin_api", "marketer_api", "marketer_user", "rep", "rep_api"]
