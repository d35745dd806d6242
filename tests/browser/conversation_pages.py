"""Steps on the messaging pages shared by the messaging browser tests: open a conversation as a
therapist (from the inbox) or as a client (their one conversation), send a message and wait for
the server's acknowledgment, and the canaries the scans look for."""

from __future__ import annotations

import re
import secrets

from playwright.sync_api import Locator, Page, expect

from tests.browser.test_setup_flow import SLOW
from tests.browser.test_sign_in import nav
from tests.browser.test_team_flow import go


def canary() -> str:
    return f"canary-{secrets.token_hex(8)}"


def messages(page: Page) -> Locator:
    return page.get_by_role("list", name="Messages")


def send(page: Page, text: str) -> None:
    """Types and sends a message; returns once it shows once, as sent."""
    box = page.get_by_role("textbox", name="Message", exact=True)
    box.fill(text)
    box.press("Enter")
    expect(box).to_have_value("")
    mine = messages(page).get_by_role("listitem").filter(has_text=text)
    expect(mine.filter(has_text="Sent")).to_have_count(1, timeout=SLOW)
    expect(mine).to_have_count(1)


def open_conversation_as_therapist(page: Page, client_name: str) -> None:
    go(page, "Messages")
    page.get_by_role("list", name="Conversations").get_by_role("link", name=client_name).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conversation", timeout=SLOW)
    expect(page.get_by_text(client_name).first).to_be_visible()
    # Ready to write: the participants' keys were checked.
    expect(page.get_by_role("button", name="Attach a file")).to_be_enabled(timeout=SLOW)


def open_conversation_as_client(page: Page) -> None:
    # A client has one conversation: "Messages" opens it directly.
    nav(page).get_by_role("link", name="Messages").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Conversation", timeout=SLOW)
    expect(page).to_have_url(re.compile(r"/conversation\?client="))


def overlaps(a: Locator, b: Locator) -> bool:
    """Whether two elements' boxes on screen intersect."""
    box_a, box_b = a.bounding_box(), b.bounding_box()
    assert box_a is not None
    assert box_b is not None
    return not (
        box_a["x"] + box_a["width"] <= box_b["x"]
        or box_b["x"] + box_b["width"] <= box_a["x"]
        or box_a["y"] + box_a["height"] <= box_b["y"]
        or box_b["y"] + box_b["height"] <= box_a["y"]
    )
