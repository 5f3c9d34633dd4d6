import pytest
from django.contrib.auth.models import Group

from leadfunnel.groups import MARKETERS, SALES_REPS

pytestmark = pytest.mark.django_db


def _scoring_codenames(group: str) -> set[str]:
    permissions = Group.objects.get(name=group).permissions
    return set(
        permissions.filter(content_type__app_label="scoring").values_list("codename", flat=True)
    )


def test_marketers_manage_rules_and_settings_and_read_the_history() -> None:
    assert _scoring_codenames(MARKETERS) == {
        *(
            f"{action}_{model}"
            for model in ("scoringrule", "scoringconfig")
            for action in ("add", "change", "delete", "view")
        ),
        "view_scorechange",
    }


def test_sales_reps_only_read_the_history() -> None:
    assert _scoring_codenames(SALES_REPS) == {"view_scorechange"}
