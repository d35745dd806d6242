"""allauth's headless API for the browser client, without the routes of features Quietroom
keeps off (phone numbers, sign-in by emailed code): allauth mounts those whatever the settings,
and a route that does nothing is still surface to attack."""

from __future__ import annotations

from allauth.headless import urls as headless_urls
from django.urls import URLPattern, URLResolver

UNUSED = frozenset(
    {"manage_phone", "verify_phone", "resend_phone_verification_code", "confirm_login_code"}
)

app_name = headless_urls.app_name


def without_unused(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    kept: list[URLPattern | URLResolver] = []
    for entry in patterns:
        if isinstance(entry, URLResolver):
            kept.append(
                URLResolver(
                    entry.pattern,
                    without_unused(entry.url_patterns),
                    entry.default_kwargs,
                    entry.app_name,
                    entry.namespace,
                )
            )
        elif entry.name not in UNUSED:
            kept.append(entry)
    return kept


urlpatterns = without_unused(headless_urls.urlpatterns)
