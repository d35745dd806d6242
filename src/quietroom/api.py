"""The JSON API: one django-ninja instance; every domain app contributes a router.

Authentication is on by default (session cookie + CSRF); an operation that answers anonymous
callers must say `auth=None` and be on the route sweep's allow-list (tests/test_route_sweep.py).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import django_auth

from quietroom import __version__
from quietroom.accounts.api import router as accounts_router
from quietroom.audit.api import router as audit_router
from quietroom.core.api import router as core_router
from quietroom.core.errors import error_response
from quietroom.directory.api import router as directory_router
from quietroom.keys.api import router as keys_router
from quietroom.messaging.api import router as messaging_router
from quietroom.messaging.blob_api import router as messaging_blob_router
from quietroom.messaging.settings_api import router as messaging_settings_router
from quietroom.practices.api import router as practices_router

api = NinjaAPI(
    title="Quietroom API",
    version=__version__,
    urls_namespace="api",
    auth=django_auth,
    docs_url=None,  # no interactive docs page: it would load scripts the CSP forbids (SUP-03)
    openapi_url="/openapi.json",
)


def _field_path(error: dict[str, Any]) -> str:
    # ninja reports ("body", "payload", "field"); the client only needs the field part.
    loc = [str(part) for part in error.get("loc", ()) if part not in {"body", "payload"}]
    return ".".join(loc)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields = [
        {"field": _field_path(e), "problem": str(e.get("msg", "invalid"))} for e in exc.errors
    ]
    return error_response(400, "invalid", "Some fields are missing or invalid.", fields=fields)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error_response(401)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and str(exc).startswith("Cannot parse request body"):
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    return error_response(exc.status_code, message=str(exc) or None)


api.add_router("/", core_router)
api.add_router("/", accounts_router)
api.add_router("/", practices_router)
api.add_router("/", audit_router)
api.add_router("/", directory_router)
api.add_router("/", keys_router)
api.add_router("/", messaging_router)
api.add_router("/", messaging_blob_router)
api.add_router("/", messaging_settings_router)
