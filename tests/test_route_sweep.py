"""The route sweep (AC-02): every HTTP and WebSocket route refuses an anonymous caller unless
it is on the allow-list below, each entry with its reason. A new route without a decision
fails here, so "forgot the permission check" cannot ship."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Iterator

import pytest
from channels.testing import WebsocketCommunicator
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from quietroom.asgi import application
from quietroom.realtime.routing import websocket_urlpatterns

# route pattern -> why an anonymous caller may use it. Keep each reason honest and short.
ANONYMOUS_ALLOWED: dict[str, str] = {
    "": "the web client's start page: static code, no data",
    "sign-in": "the sign-in page: static code, no data",
    "protection": "'How your data is protected' must be readable before sign-in",
    "setup": "the practice set-up page; its token is checked by the API that uses it",
    "my-access": "'Who has seen my file' page shell: static code; its API needs sign-in",
    "audit": "the staff audit review page shell: static code; api/audit/events needs sign-in",
    "security": "the security page shell: static code; the APIs it calls need sign-in",
    "join": "the invitation page, before an account exists; its token rides in the fragment",
    "welcome": "onboarding page shell: static code; the APIs it calls need sign-in",
    "team": "the team page shell: static code; the APIs it calls need sign-in",
    "verify": "the key verification page shell: static code; the APIs it calls need sign-in",
    "forgot-password": "asks for a reset email before sign-in: static code",
    "reset-password": "sets a new password from the emailed key (in the fragment): static code",
    "recover": "the recovery page shell: static code; the APIs it calls need sign-in",
    "messages": "the messages page shell: static code; the APIs it calls need sign-in",
    "conversation": "the conversation page shell: static code; the APIs it calls need sign-in",
    "api/health": "load-balancer probe; answers only ok or unavailable",
    "api/quick-exit": "quick exit must work for anyone: ends a session if any, no data",
    "exit": "quick exit's blank page: static HTML, no script, no data",
    "api/meta": "product name and version, shown on pages before sign-in",
    "api/csp-report": "browsers post CSP violation reports without credentials",
    "api/transparency": "'How your data is protected' facts, readable before sign-in",
    "api/openapi.json": "the API's public schema: describes operations, holds no data",
    # Sign-in (allauth headless): these must answer before sign-in; they are rate limited and
    # answer alike for known and unknown emails (AU-03). Every other _allauth route gives 401.
    "api/keys/prelogin": "salt and KDF parameters needed to derive the sign-in key",
    "api/invitations/open": "the invitation page, before an account exists; needs the token",
    "api/setup/check": "the set-up page, before any account exists; needs the set-up token",
    "api/setup/practice": "creates the practice and its owner; needs the set-up token",
    "_allauth/browser/v1/config": "allauth's public settings (sign-in methods) for sign-in",
    "_allauth/browser/v1/auth/session": "'am I signed in?': 401 with the open flows when not",
    "_allauth/browser/v1/auth/login": "sign-in with email and authKey",
    "_allauth/browser/v1/auth/webauthn/login": "passkey sign-in: a challenge, then its answer",
    "_allauth/browser/v1/auth/signup": "refuses (403) unless the session holds an invitation",
    "_allauth/browser/v1/auth/password/request": "asks for a reset email; same answer for all",
    "_allauth/browser/v1/auth/password/reset": "works only with the one-time key from that email",
    "_allauth/browser/v1/auth/email/verify": "works only with the one-time key from the email",
    "_allauth/browser/v1/auth/email/verify/resend": "only during a pending sign-in; else 409",
    "_allauth/browser/v1/account/email": "anonymous POST only during a pending sign-in; else 409",
}
WEBSOCKET_ANONYMOUS_ALLOWED: dict[str, str] = {}

METHODS = ("get", "post", "put", "patch", "delete")
REFUSED = {401, 403, 404, 405}
SAMPLES = {"uuid": str(uuid.uuid4()), "int": "1", "str": "x", "slug": "x", "path": "x/y"}


def walk(patterns: list[URLPattern | URLResolver], prefix: str = "") -> Iterator[str]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, route)
        else:
            yield route


def all_routes() -> list[str]:
    return sorted(set(walk(get_resolver().url_patterns)))


def concrete(route: str) -> str:
    def fill(match: re.Match[str]) -> str:
        converter = match.group(1) or "str"
        return SAMPLES.get(converter, "x")

    return "/" + re.sub(r"<(?:(\w+):)?\w+>", fill, route)


def test_routes_are_found() -> None:
    routes = all_routes()
    assert "api/session" in routes
    assert "api/health" in routes
    assert len(routes) >= 8


def test_allow_list_has_no_stale_entries() -> None:
    assert set(ANONYMOUS_ALLOWED) <= set(all_routes())


@pytest.mark.django_db
@pytest.mark.parametrize("route", all_routes())
def test_every_route_refuses_anonymous_unless_allowed(route: str) -> None:
    client = Client(raise_request_exception=False)
    for method in METHODS:
        response = getattr(client, method)(concrete(route))
        assert response.status_code < 500, f"{method.upper()} /{route} -> {response.status_code}"
        if route not in ANONYMOUS_ALLOWED:
            assert response.status_code in REFUSED, (
                f"{method.upper()} /{route} answered {response.status_code} to an anonymous "
                "caller; refuse it, or add it to ANONYMOUS_ALLOWED with a reason"
            )


async def _anonymous_connect(path: str) -> bool:
    communicator = WebsocketCommunicator(
        application, "/" + path, headers=[(b"origin", b"http://127.0.0.1:8000")]
    )
    connected, _ = await communicator.connect(timeout=5)
    await communicator.disconnect()
    return bool(connected)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("route", [str(p.pattern) for p in websocket_urlpatterns])
def test_every_websocket_route_refuses_anonymous_unless_allowed(route: str) -> None:
    connected = asyncio.run(_anonymous_connect(concrete(route).lstrip("/")))
    assert connected == (route in WEBSOCKET_ANONYMOUS_ALLOWED)
