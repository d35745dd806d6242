"""The web client's shell in Debian's Chromium: it loads from this server alone, works on a
phone, is keyboard-accessible, and the CSP really stops what it promises to stop."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Request, expect

from tests.harness.browser import PageProblems, ThirdPartyGuard
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)


def test_home_page_loads_in_a_secure_context(page: Page, app_server: AppServer) -> None:
    page.goto("/")
    expect(page).to_have_title("Quietroom")
    expect(page.get_by_role("heading", level=1)).to_contain_text("A private room")
    # WebCrypto (and so the whole end-to-end protocol) needs a secure context.
    assert page.evaluate("isSecureContext && !!crypto.subtle") is True


def test_navigation_to_the_protection_page_shows_the_server_version(page: Page) -> None:
    page.goto("/")
    page.get_by_role("navigation", name="Main").get_by_role(
        "link", name="How your data is protected"
    ).click()
    expect(page).to_have_url(re.compile(r"/protection$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("How your data is protected")
    expect(page.get_by_text(re.compile(r"Software: Quietroom \d+\.\d+\.\d+"))).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_contain_text("A private room")


def test_sign_in_form_sends_nothing_before_it_is_filled_in(page: Page) -> None:
    page.goto("/sign-in")
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request) if request.method != "GET" else None)
    page.get_by_role("button", name="Sign in", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("Enter your email address and your password")
    assert sent == []


def test_setup_page_reads_its_token_from_the_fragment(page: Page) -> None:
    sent: list[Request] = []
    page.on("request", lambda request: sent.append(request))  # noqa: PLW0108 - Playwright needs a plain function
    page.goto("/setup#token=" + "A" * 43)
    # The token is checked in a request body (never a URL); an unknown one cannot be used.
    expect(page.get_by_role("alert")).to_contain_text("cannot be used")
    checks = [r for r in sent if r.url.endswith("/api/setup/check")]
    assert [r.method for r in checks] == ["POST"]
    assert "A" * 43 in (checks[0].post_data or "")
    assert all("A" * 43 not in r.url for r in sent)
    page.goto("/setup")
    expect(page.get_by_role("alert")).to_contain_text("quietroom setup-link")


def test_unknown_page_says_not_found(page: Page) -> None:
    response = page.goto("/no-such-page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")


def test_works_on_a_phone_without_sideways_scrolling(page: Page) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    for path in ("/", "/sign-in", "/protection"):
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"


def test_keyboard_users_can_skip_to_content(page: Page) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()  # the app has rendered
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to content")
    expect(skip).to_be_focused()
    expect(skip).to_be_visible()


def test_csp_blocks_inline_script(
    page: Page, page_problems: PageProblems, third_party_guard: ThirdPartyGuard
) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    with page.expect_request("**/api/csp-report"):
        page.evaluate(
            """() => new Promise((resolve) => {
            document.addEventListener("securitypolicyviolation", () => resolve(null), {once: true});
            const s = document.createElement("script");
            s.textContent = "window.injected = true";
            document.body.append(s);
        })"""
        )
    assert page.evaluate("window.injected === undefined") is True
    assert page_problems.csp_violations, "the browser should have reported the violation"
    assert third_party_guard.csp_reports, "and sent a report to the server"
    page_problems.csp_violations.clear()  # expected here; any other test fails on one
    third_party_guard.csp_reports.clear()


def test_csp_blocks_a_foreign_fetch(
    page: Page, page_problems: PageProblems, third_party_guard: ThirdPartyGuard
) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    with page.expect_request("**/api/csp-report"):
        outcome = page.evaluate(
            "fetch('https://tracker.example/pixel').then(() => 'sent', () => 'blocked')"
        )
    assert outcome == "blocked"
    assert any("connect-src" in v for v in page_problems.csp_violations)
    page_problems.csp_violations.clear()  # expected here; any other test fails on one
    third_party_guard.csp_reports.clear()


def test_third_party_guard_catches_a_foreign_request(
    page: Page, third_party_guard: ThirdPartyGuard
) -> None:
    page.goto("/")
    # A navigation is not bound by the page's CSP, so only the guard stands in its way.
    with pytest.raises(PlaywrightError):
        page.goto("https://tracker.example/pixel")
    assert third_party_guard.blocked == ["https://tracker.example/pixel"]
    third_party_guard.blocked.clear()  # expected here; any other test fails on one
