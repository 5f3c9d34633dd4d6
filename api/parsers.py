"""How every endpoint reads JSON: DRF's parser, bounded in how deeply the input may nest.

Python's JSON parser recurses once per array or object, so `[[[[…]]]]` ten thousand levels
deep raises RecursionError, which DRF does not catch (a 500 for anyone, anonymous included).
A body that does parse can still be nested hundreds deep, and everything after the parser
recurses too (serializers, the error flattening in api.errors, json.dumps, PostgreSQL's
jsonb). Both are refused here, as a ParseError (400), before any of that runs. This is the
JSON parser in REST_FRAMEWORK["DEFAULT_PARSER_CLASSES"]; views that narrow their parsers
pick from this module, never from rest_framework.parsers.
"""

from collections.abc import Mapping
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Far above what an integration sends (a custom event's properties nest two or three levels)
# and far below Python's recursion limit (1,000 frames), whatever the stack holds already.
MAX_JSON_DEPTH = 64


class JSONParser(parsers.JSONParser):
    def parse(
        self,
        stream: IO[bytes],
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as error:
            raise _too_deep() from error
        if _nested_deeper_than(data, MAX_JSON_DEPTH):
            raise _too_deep()
        return data


class PlainTextJSONParser(JSONParser):
    """JSON sent as text/plain: what navigator.sendBeacon sends, with no CORS preflight."""

    media_type = "text/plain"


def _too_deep() -> ParseError:
    return ParseError(
        f"JSON parse error - nested too deeply: at most {MAX_JSON_DEPTH} levels of arrays "
        "and objects."
    )


def _nested_deeper_than(data: Any, limit: int) -> bool:
    """Whether any array or object sits more than `limit` levels deep (`[]` is one level).

    A loop with its own stack, not recursion: the point is not to recurse on hostile input.
    """
    pending: list[tuple[Any, int]] = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = list(value.values())
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children)
    return False
