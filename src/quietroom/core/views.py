"""Pages: the web client's index for its known routes, and JSON for everything unknown."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import ensure_csrf_cookie

from quietroom.core.errors import error_response

# The web client's own routes (kept in step with web/src/routes.ts). Anything else is a 404.
SPA_ROUTES = frozenset(
    {
        "/",
        "/sign-in",
        "/protection",
        "/setup",
        "/my-access",
        "/audit",
        "/security",
        "/join",
        "/welcome",
        "/team",
        "/verify",
        "/forgot-password",
        "/reset-password",
        "/recover",
        "/messages",
        "/conversation",
    }
)

NOT_BUILT = """<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>Quietroom</title></head><body><main><h1>Quietroom</h1>
<p>The web client has not been built. Run <code>scripts/start</code> (see README.md).</p>
</main></body></html>"""


def _index_html() -> str | None:
    index: Path = settings.WEB_DIST / "index.html"
    try:
        return index.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None


@ensure_csrf_cookie  # the web client sends this cookie's token back on every write
def spa(request: HttpRequest, status: int = 200) -> HttpResponse:
    if request.method not in {"GET", "HEAD"}:
        response = error_response(405)
        response.headers["Allow"] = "GET, HEAD"
        return response
    html = _index_html()
    return HttpResponse(html or NOT_BUILT, status=status, content_type="text/html; charset=utf-8")


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """Unknown address: a page for a person's browser, JSON for everything else."""
    wants_page = "text/html" in request.headers.get("Accept", "")
    if wants_page and not request.path.startswith("/api/") and request.method in {"GET", "HEAD"}:
        return spa(request, status=404)
    return error_response(404)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(400)


def forbidden(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return error_response(403)


def server_error(request: HttpRequest) -> JsonResponse:
    return error_response(500)


def csrf_failure(request: HttpRequest, reason: str = "") -> JsonResponse:
    return error_response(
        403, "csrf_failed", "The request lacked a valid CSRF token; reload the page."
    )
