"""The quick-exit page (docs/api/messaging.md): a blank, neutral page that a person can leave
on screen, with nothing that points to therapy, and the signal for the browser to forget this
origin's cache and storage."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from quietroom.core.errors import error_response
from quietroom.core.middleware import clear_site_data

# No script, no style, no practice or product name: it must look like any empty tab.
EXIT_HTML = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
    "<title>New Tab</title></head><body></body></html>"
)


def same_origin(request: HttpRequest) -> bool:
    """Whether the browser says this request came from our own pages (or was typed in). Clearing
    storage deletes this device's keys (crypto-protocol §5.2), so another site must not be able
    to trigger it with a link or a form."""
    fetch_site = request.headers.get("Sec-Fetch-Site")
    if fetch_site is not None:
        return fetch_site in {"same-origin", "none"}
    origin = request.headers.get("Origin")
    public_url: str = settings.CONFIG.public_url
    return origin is None or origin == public_url


def exit_page(request: HttpRequest) -> HttpResponse:
    if request.method not in {"GET", "HEAD"}:
        refused = error_response(405)
        refused.headers["Allow"] = "GET, HEAD"
        return refused
    response = HttpResponse(EXIT_HTML, content_type="text/html; charset=utf-8")
    if same_origin(request):
        clear_site_data(response, storage=True)
    return response
