"""The JSON error body's field names: nested objects with dots, list items by index."""

from rest_framework import exceptions

from api.errors import error_body


def test_it_names_list_items_by_index_whatever_shape_drf_gives() -> None:
    as_dict = exceptions.ValidationError({"items": {3: {"email": ["Enter a valid email."]}}})
    as_list = exceptions.ValidationError({"items": [{}, {"email": ["Enter a valid email."]}]})
    assert error_body(as_dict)["fields"] == {"items[3].email": ["Enter a valid email."]}
    assert error_body(as_list)["fields"] == {"items[1].email": ["Enter a valid email."]}
    assert error_body(as_list)["message"] == "items[1].email: Enter a valid email."


def test_a_plain_error_keeps_its_code() -> None:
    assert error_body(exceptions.NotFound()) == {"code": "not_found", "message": "Not found."}
