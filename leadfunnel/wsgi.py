import os
from typing import Any

import django
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "leadfunnel.settings")


class Request(WSGIRequest):
    """Django's WSGIRequest, built even when the Content-Type names a charset that `codecs`
    knows but that is no text encoding (`bz2_codec`): Django takes it as request.encoding
    and, with a query string, fails to decode request.GET inside the constructor, a 500
    before any middleware runs. Such a request keeps the default encoding here, and
    leadfunnel.middleware.RequestCharsetMiddleware answers it with a 400 like any other
    unreadable charset."""

    def _set_content_type_params(self, meta: dict[str, Any]) -> None:
        try:
            super()._set_content_type_params(meta)  # type: ignore[misc]  # private: no stub
        except LookupError:
            self._encoding = None


class Handler(WSGIHandler):
    request_class = Request


django.setup(set_prefix=False)  # as django.core.wsgi.get_wsgi_application() does
application = Handler()
