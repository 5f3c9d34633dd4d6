"""A segment's condition tree: its shape, and validating it (admin, API and services all
call `validate_tree`, the model field's validator).

    {"match": "all", "conditions": [
        {"field": "temperature", "op": "in", "value": ["hot", "warm"]},
        {"match": "any", "conditions": [
            {"field": "activity", "kind": "page_viewed", "url": "*/pricing*",
             "op": "at_least", "count": 2, "within_days": 14},
            {"field": "clicked", "node": 42},
        ]},
    ]}

A group has `match` (all = AND, any = OR, none = NOT OR) and `conditions`; anything else is
one condition in nurture.services.conditions' vocabulary, which journey branches use too.
"""

from collections.abc import Iterator, Mapping
from typing import Any

from django.core.exceptions import ValidationError

from nurture.services import conditions

EMPTY_TREE: dict[str, Any] = {"match": "all", "conditions": []}
MATCHES = ("all", "any", "none")
# Deep enough for any marketer's logic, bounded so a request cannot make a huge query.
MAX_DEPTH = 10
MAX_CONDITIONS = 100
SEGMENT_FIELD = "segment"


def is_group(node: Any) -> bool:
    return isinstance(node, Mapping) and "match" in node


def leaves(tree: Any) -> Iterator[Mapping[str, Any]]:
    if is_group(tree):
        for child in tree.get("conditions") or []:
            yield from leaves(child)
    elif isinstance(tree, Mapping):
        yield tree


def referenced_segments(tree: Any) -> set[int]:
    found: set[int] = set()
    for leaf in leaves(tree):
        if leaf.get("field") == SEGMENT_FIELD:
            value: Any = leaf.get("value")
            try:
                found.add(int(value))
            except (TypeError, ValueError):
                continue
    return found


def validate_tree(tree: Any) -> None:
    """Every fault at once, each prefixed with where it is ("Condition 2.1: ...")."""
    if not is_group(tree):
        raise ValidationError('The conditions are a group: {"match": "all", "conditions": []}.')
    errors: list[str] = []
    count = _check_group(tree, path="", depth=1, errors=errors)
    if count > MAX_CONDITIONS:
        errors.append(f"At most {MAX_CONDITIONS} conditions in one segment ({count} given).")
    if errors:
        raise ValidationError(errors)


def _check_group(group: Mapping[str, Any], *, path: str, depth: int, errors: list[str]) -> int:
    where = f"Group {path}: " if path else ""
    if depth > MAX_DEPTH:
        errors.append(f"{where}groups nest at most {MAX_DEPTH} deep.")
        return 0
    if group.get("match") not in MATCHES:
        errors.append(f"{where}match is one of all, any, none.")
    children = group.get("conditions")
    if not isinstance(children, list):
        errors.append(f"{where}conditions is a list.")
        return 0
    extra = set(group) - {"match", "conditions"}
    if extra:
        errors.append(f"{where}unknown keys {', '.join(sorted(map(str, extra)))}.")
    if not children and path:
        errors.append(f"{where}an empty group: add a condition or remove the group.")
    count = 0
    for index, child in enumerate(children, start=1):
        place = f"{path}.{index}" if path else str(index)
        if is_group(child):
            count += _check_group(child, path=place, depth=depth + 1, errors=errors)
            continue
        count += 1
        try:
            conditions.validate(child)
        except ValidationError as error:
            errors.extend(f"Condition {place}: {message}" for message in error.messages)
    return count
