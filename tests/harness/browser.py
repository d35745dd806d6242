"""Debian's Chromium through Playwright, with two guards on every page:

- the third-party request guard: any request to an origin other than the app's is aborted,
  recorded, and fails the test at teardown (no CDN, font, analytics or tracker, ever);
- the CSP guard: any Content-Security-Policy violation or uncaught page error fails the test.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest
from allauth.account.internal.flows import login as allauth_login
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, Route

from quietroom.accounts.models import User
from tests.harness.server import AppServer

CHROMIUM = shutil.which("chromium")
# Stop Chromium's own background traffic (updates, sync, field trials); see
# docs/testing.md. Media flags give a synthetic camera and microphone for call tests.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--allow-loopback-in-peer-connection",
]


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


@dataclass
class ThirdPartyGuard:
    app_origin: str
    blocked: list[str] = field(default_factory=list)
    # Every CSP violation the browser reports, including ones a library swallowed (zod's eval
    # probe, for one, throws no visible error but still sends a report).
    csp_reports: list[str] = field(default_factory=list)

    def handle(self, route: Route) -> None:
        url = route.request.url
        if url.startswith(("data:", "blob:")) or origin_of(url) == self.app_origin:
            if urlsplit(url).path == "/api/csp-report":
                self.csp_reports.append(route.request.post_data or "")
            route.continue_()
            return
        self.blocked.append(url)
        route.abort("blockedbyclient")


@dataclass
class PageProblems:
    csp_violations: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def on_console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            self.csp_violations.append(message.text)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if CHROMIUM is None:
        pytest.fail("chromium is missing: apt-get install chromium (the test command does this)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture
def third_party_guard(app_server: AppServer) -> ThirdPartyGuard:
    return ThirdPartyGuard(app_origin=origin_of(app_server.url))


@pytest.fixture
def context(
    browser: Browser, app_server: AppServer, third_party_guard: ThirdPartyGuard
) -> Iterator[BrowserContext]:
    ctx = browser.new_context(base_url=app_server.url)
    # On the 2-core CI machine a page that has just derived keys (Argon2id, 64 MiB) or loaded
    # the password-strength dictionaries can stall for longer than Playwright's 30 s default;
    # twice a click on the next button timed out. Waiting longer hides no failure: a wait that
    # ends in a timeout still fails the test.
    ctx.set_default_timeout(60_000)
    ctx.route("**/*", third_party_guard.handle)
    yield ctx
    ctx.close()
    assert third_party_guard.blocked == [], (
        f"third-party requests were made: {third_party_guard.blocked}"
    )
    assert third_party_guard.csp_reports == [], (
        f"CSP violations were reported: {third_party_guard.csp_reports}"
    )


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(context: BrowserContext, page_problems: PageProblems) -> Iterator[Page]:
    new_page = context.new_page()
    new_page.on("console", page_problems.on_console)
    new_page.on("pageerror", lambda error: page_problems.page_errors.append(str(error)))
    yield new_page
    assert page_problems.csp_violations == [], f"CSP violations: {page_problems.csp_violations}"
    assert page_problems.page_errors == [], f"uncaught page errors: {page_problems.page_errors}"


def sign_in(context: BrowserContext, user: User, base_url: str) -> None:
    """Give a browser context a signed-in session for `user`, as the accounts capability's
    sign-in would, so page tests can start from a signed-in state."""
    client = Client()
    client.force_login(user)
    record_sign_in(client, user)
    name = settings.SESSION_COOKIE_NAME
    context.add_cookies([{"name": name, "value": client.cookies[name].value, "url": base_url}])


def record_sign_in(client: Client, user: User) -> None:
    """Write allauth's record of a password sign-in into a force_login session, as a real
    sign-in does, so actions behind `require_recent_auth` see a fresh authentication."""
    session = client.session
    session[allauth_login.AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": time.time()}
    ]
    session[allauth_login._AUTHENTICATION_METHODS_USER_SESSION_KEY] = str(user.pk)
    session.save()
