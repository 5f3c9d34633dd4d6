"""Requests refused before any view, or Django's own request parsing, can stumble on them."""

import codecs
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from rest_framework.exceptions import ParseError

from api.errors import API_PREFIX, error_body

FORM = "application/x-www-form-urlencoded"
_ASCII = bytes(range(128))


class UnsupportedCharset(ParseError):
    default_code = "unsupported_charset"


class RequestCharsetMiddleware:
    """A 400 for a request whose Content-Type names a charset the site cannot read.

    Django decodes request.GET and request.POST lazily, with the charset the client names.
    A form in anything but UTF-8 makes request.POST raise BadRequest (Django's rule for
    application/x-www-form-urlencoded), but every read raises again: CsrfViewMiddleware reads
    it, and so does the CSRF-protected 400 handler that answers the first error, so the
    prospect's (or attacker's) POST ends as a 500. UTF-16 and friends (not ASCII-compatible)
    garble form fields and query strings; an unknown name is silently read as UTF-8. So the
    charset is judged here, once, before CsrfViewMiddleware (which is why this sits in front
    of it in MIDDLEWARE) and before anything decodes the request.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        charset = request.content_params.get("charset") if request.content_params else None
        if charset is not None:
            problem = _charset_problem(charset=charset, content_type=request.content_type)
            if problem:
                return _bad_request(request, problem)
            if codecs.lookup(charset).name == "utf-8":
                # "utf8", "UTF_8": spellings of UTF-8 that Django's form check does not know.
                request.encoding = "utf-8"
        return self.get_response(request)


def _charset_problem(*, charset: str, content_type: str | None) -> str:
    """Why the body cannot be read in `charset`, in words for the client; "" if it can."""
    unreadable = (
        f'The request is declared in charset "{charset}", which this site cannot read: '
        "send it as UTF-8."
    )
    try:
        # ASCII-compatible: every ASCII character is its own byte, so "&", "=", "%" and the
        # multipart boundary mean what they say. str.encode also refuses non-text codecs
        # such as bz2_codec, which would decompress the body past its size limit.
        if _ASCII.decode("ascii").encode(charset) != _ASCII:
            return unreadable
        name = codecs.lookup(charset).name
    except (LookupError, UnicodeError):
        return unreadable
    if content_type == FORM and name != "utf-8":
        return f'Forms are read as UTF-8 only, not charset "{charset}": send the form as UTF-8.'
    return ""


def _bad_request(request: HttpRequest, message: str) -> HttpResponse:
    if request.path_info.startswith(API_PREFIX):
        return JsonResponse({"error": error_body(UnsupportedCharset(message))}, status=400)
    return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
