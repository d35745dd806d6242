"""Security headers, request size limits and JSON errors for every response."""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase

from quietroom.core.body_limit import body_limit
from quietroom.core.errors import error_response

logger = logging.getLogger("quietroom.request")

# 'wasm-unsafe-eval' lets the Argon2id WebAssembly module compile; nothing else loosens
# script-src (no inline script, no eval). 'self' in connect-src also covers same-origin wss.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'wasm-unsafe-eval'",
        "style-src 'self'",
        "img-src 'self' blob: data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "font-src 'self'",
        "worker-src 'self' blob:",
        "manifest-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "frame-src 'none'",
        "report-uri /api/csp-report",
    ]
)
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        "microphone=(self)",
        "display-capture=()",
        "geolocation=()",
        "payment=()",
        "usb=()",
        "bluetooth=()",
        "serial=()",
        "hid=()",
        "browsing-topics=()",
    ]
)

Handler = Callable[[HttpRequest], HttpResponseBase]

# allauth headless: DELETE on this path signs the browser out.
SIGN_OUT_PATH = "/_allauth/browser/v1/auth/session"


def clear_site_data(response: HttpResponseBase, *, storage: bool = False) -> None:
    """Tell the browser to drop what it cached for this origin (AU-08): on sign-out and quick
    exit. "cache" only by default: "storage" would also wipe IndexedDB, which holds this
    device's non-extractable keys and the wrapped Secret Key that must survive a sign-out
    (crypto-protocol §3.5, §5.2), so it is added only when the person forgets this device.
    "cookies" is left out too: the server already ended the session, and it would also drop
    the CSRF cookie the sign-in page needs next."""
    response.headers["Clear-Site-Data"] = '"cache", "storage"' if storage else '"cache"'


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


class SecurityHeadersMiddleware:
    """Adds the header set of TX-02 to every response, static files and errors included."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("Permissions-Policy", PERMISSIONS_POLICY)
        response.headers.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if is_api(request) or response.headers.get("Content-Type", "").startswith("text/html"):
            # API answers and pages may carry personal data: never keep them in any cache.
            response.headers["Cache-Control"] = "no-store"
        if "Server" in response.headers:
            del response.headers["Server"]
        if request.method == "DELETE" and request.path == SIGN_OUT_PATH:
            clear_site_data(response)
        return response


class RequestSizeLimitMiddleware:
    """Refuses a body over the limit before anything reads it (413, nothing written)."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response
        self.limit: int = settings.MAX_REQUEST_BYTES

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        length = request.META.get("CONTENT_LENGTH") or "0"
        try:
            declared = int(length)
        except ValueError:
            return error_response(400, "bad_content_length", "Content-Length is not a number.")
        limit = body_limit(request.method or "", request.path_info, self.limit)
        if declared > limit:
            return error_response(413, limit=limit)
        return self.get_response(request)


class JsonErrorMiddleware:
    """Turns any API failure into the JSON error shape, and never shows a stack trace."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (
            is_api(request)
            and response.status_code >= 400
            and not response.headers.get("Content-Type", "").startswith("application/json")
        ):
            replacement = error_response(response.status_code)
            if "Allow" in response.headers:
                replacement.headers["Allow"] = response.headers["Allow"]
            return replacement
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return error_response(413, limit=settings.MAX_REQUEST_BYTES)
        if isinstance(exception, (Http404, PermissionDenied, SuspiciousOperation)):
            return None  # Django answers these with handler404/403/400, all JSON for the API
        if isinstance(exception, (OperationalError, InterfaceError)):
            # The database is down or restarting: a fast 503 the client may retry (BCK-05).
            logger.error("database unavailable", extra={"path": request.path})
            response = error_response(503)
            response.headers["Retry-After"] = "5"
            return response
        logger.error(
            "unhandled error",
            extra={
                "path": request.path,
                "method": request.method,
                "error": type(exception).__name__,
            },
        )
        if settings.DEBUG:
            return None
        return error_response(500)
