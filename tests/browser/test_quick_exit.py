"""Quick exit in Debian's Chromium against the real server: the POST signs out and the browser
really drops this origin's storage and cache (Clear-Site-Data), and the exit page loads with no
CSP violation and nothing on it (docs/api/messaging.md)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.browser.test_setup_flow import SLOW
from tests.harness.browser import sign_in
from tests.harness.personas import Personas
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)

FILL_STORAGE = """async () => {
  localStorage.setItem("draft", "x");
  await new Promise((resolve, reject) => {
    const open = indexedDB.open("probe", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("s");
    open.onsuccess = () => {
      const tx = open.result.transaction("s", "readwrite");
      tx.objectStore("s").put("v", "k");
      tx.oncomplete = () => { open.result.close(); resolve(null); };
    };
    open.onerror = () => reject(open.error);
  });
  return (await indexedDB.databases()).map((d) => d.name);
}"""

STORAGE_LEFT = """async () => ({
  local: localStorage.length,
  databases: (await indexedDB.databases()).map((d) => d.name),
})"""


def test_quick_exit_signs_out_and_clears_storage(
    personas: Personas, context: BrowserContext, page: Page, app_server: AppServer
) -> None:
    sign_in(context, personas.client.user, app_server.url)
    page.goto("/exit")
    assert page.title() == "New Tab"
    assert page.locator("body").inner_text() == ""
    assert page.evaluate("() => document.scripts.length") == 0
    assert page.evaluate(FILL_STORAGE) == ["probe"]
    assert page.evaluate("async () => (await fetch('/api/session')).status") == 200

    status = page.evaluate("async () => (await fetch('/api/quick-exit', {method: 'POST'})).status")
    assert status == 204
    assert page.evaluate(STORAGE_LEFT) == {"local": 0, "databases": []}
    assert page.evaluate("async () => (await fetch('/api/session')).status") == 401


def test_escape_twice_within_a_second_leaves_at_once(
    personas: Personas, context: BrowserContext, page: Page, app_server: AppServer
) -> None:
    sign_in(context, personas.client.user, app_server.url)
    page.goto("/")
    expect(page.get_by_role("button", name="Quick exit")).to_be_visible(timeout=SLOW)
    # Two presses further apart than a second are two ordinary Escapes.
    page.keyboard.press("Escape")
    page.wait_for_timeout(1_300)
    page.keyboard.press("Escape")
    page.wait_for_timeout(300)
    expect(page.get_by_role("button", name="Quick exit")).to_be_visible()
    assert page.evaluate("async () => (await fetch('/api/session')).status") == 200

    page.keyboard.press("Escape")
    page.keyboard.press("Escape")
    expect(page).to_have_url(re.compile(r"/exit$"), timeout=SLOW)
    assert page.locator("body").inner_text() == ""
    assert page.evaluate("async () => (await fetch('/api/session')).status") == 401
