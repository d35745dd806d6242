"""The audit capability's pages in Debian's Chromium, against the real server: a client's
"Who has seen my file", the staff audit review with its export, and the live "How your data
is protected" page. Every audit event here is made by calling the real API as a persona."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import BrowserContext, Locator, Page, expect

from quietroom import __version__
from quietroom.audit.verification import verify_database
from quietroom.crypto.password import format_secret_key, generate_secret_key
from tests.browser.test_sign_in import give_password
from tests.harness.browser import sign_in
from tests.harness.personas import Persona, Personas, give_totp
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)


def act_as(context: BrowserContext, persona: Persona, app_server: AppServer) -> None:
    """Switch the browser to `persona`: drop the previous session, then sign in."""
    context.clear_cookies()
    sign_in(context, persona.user, app_server.url)


def open_profile(page: Page, client: Persona) -> int:
    """Open a client's profile through the real API, as the signed-in persona."""
    response = page.request.get(f"/api/clients/{client.membership.pk}")
    return response.status


def therapist_opens_client_profile(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer, times: int = 1
) -> None:
    act_as(context, personas.therapist, app_server)
    for _ in range(times):
        assert open_profile(page, personas.client) == 200


def nav(page: Page) -> Locator:
    return page.get_by_role("navigation", name="Main")


def access_items(page: Page) -> Locator:
    return page.locator("main ol.access-list > li")


def audit_rows(page: Page) -> Locator:
    return page.locator("main table tbody tr")


def no_sideways_scroll(page: Page) -> int:
    overflow: int = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


# --- Who has seen my file ---------------------------------------------------------------


def test_client_sees_that_their_therapist_opened_their_profile(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer
) -> None:
    therapist_opens_client_profile(page, context, personas, app_server)

    act_as(context, personas.client, app_server)
    page.goto("/")
    expect(nav(page).get_by_role("link", name="Who has seen my file")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Audit trail")).to_have_count(0)
    expect(nav(page).get_by_role("link", name="Sign in")).to_have_count(0)
    nav(page).get_by_role("link", name="Who has seen my file").click()
    expect(page).to_have_url(re.compile(r"/my-access$"))
    expect(page).to_have_title("Who has seen my file · Quietroom")
    expect(page.get_by_role("heading", level=1)).to_have_text("Who has seen my file")

    expect(access_items(page)).to_have_count(1)
    item = access_items(page).first
    expect(item).to_contain_text("Therapist opened your profile")
    # The time is there for people and, exactly, for machines.
    expect(item.locator("time")).to_have_attribute(
        "datetime", re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")
    )
    expect(page.get_by_role("button", name="Show more")).to_have_count(0)


def test_another_client_sees_none_of_it(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer
) -> None:
    therapist_opens_client_profile(page, context, personas, app_server)

    act_as(context, personas.other_client, app_server)
    page.goto("/my-access")
    expect(page.get_by_text("Nobody has opened your file so far.")).to_be_visible()
    expect(page.get_by_text("will appear here with their name")).to_be_visible()
    expect(access_items(page)).to_have_count(0)
    expect(page.get_by_text("opened your profile")).to_have_count(0)


def test_client_history_pages_and_filters_by_period(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer
) -> None:
    therapist_opens_client_profile(page, context, personas, app_server, times=27)

    act_as(context, personas.client, app_server)
    page.goto("/my-access")
    expect(access_items(page)).to_have_count(25)
    page.get_by_role("button", name="Show more").click()
    expect(access_items(page)).to_have_count(27)
    expect(page.get_by_role("button", name="Show more")).to_have_count(0)

    period = page.get_by_label("Show")
    period.select_option(label="Last 7 days")
    expect(access_items(page)).to_have_count(25)

    # A period long before any of this happened.
    period.select_option(label="Choose dates…")
    page.get_by_label("From").fill("2020-01-01")
    page.get_by_label("To").fill("2020-01-31")
    page.get_by_role("button", name="Show these dates").click()
    expect(page.get_by_text("Nobody has opened your file in this period.")).to_be_visible()
    expect(access_items(page)).to_have_count(0)

    # A range that runs backwards is explained, not sent.
    page.get_by_label("From").fill("2020-02-01")
    page.get_by_role("button", name="Show these dates").click()
    expect(page.get_by_role("alert")).to_contain_text("first day must come on or before the last")


def test_my_access_asks_a_signed_out_visitor_to_sign_in(page: Page) -> None:
    page.goto("/my-access")
    expect(page.get_by_text("Sign in to see who at your practice has opened")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Sign in")).to_be_visible()
    expect(nav(page).get_by_role("link", name="Who has seen my file")).to_have_count(0)


# --- Staff audit review ---------------------------------------------------------------


def test_therapist_reviews_the_event_and_filters_by_outcome(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer
) -> None:
    therapist_opens_client_profile(page, context, personas, app_server)
    assert open_profile(page, personas.other_client) == 404  # not on that care team

    page.goto("/")
    expect(nav(page).get_by_role("link", name="Who has seen my file")).to_have_count(0)
    nav(page).get_by_role("link", name="Audit trail").click()
    expect(page).to_have_url(re.compile(r"/audit$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit trail")

    row = audit_rows(page).filter(has_text="Opened a client's profile")
    expect(row).to_have_count(1)
    for text in ("Therapist", "client.profile.read", "Client", "Allowed", "127.0.0.0/24"):
        expect(row).to_contain_text(text)
    expect(page.get_by_role("columnheader")).to_have_text(
        ["Time", "Person", "Role", "Action", "Client", "Outcome", "Address"]
    )

    page.get_by_label("Outcome").select_option(label="Refused")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_text("No events match these filters.")).to_be_visible()
    expect(audit_rows(page).filter(has_text="Allowed")).to_have_count(0)

    page.get_by_label("Outcome").select_option(label="Allowed")
    page.get_by_role("button", name="Apply filters").click()
    expect(audit_rows(page).filter(has_text="Opened a client's profile")).to_have_count(1)
    expect(audit_rows(page).filter(has_text="Refused")).to_have_count(0)

    # A filter the server would refuse is explained in the form instead.
    page.get_by_label("Person ID").fill("not an id")
    page.get_by_role("button", name="Apply filters").click()
    expect(page.get_by_role("alert")).to_contain_text("person ID should look like")


def test_owner_sees_the_event_and_narrows_to_one_person(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer
) -> None:
    therapist_opens_client_profile(page, context, personas, app_server)
    act_as(context, personas.owner, app_server)
    assert open_profile(page, personas.other_client) == 200  # the owner's own read

    page.goto("/audit")
    expect(audit_rows(page)).to_have_count(2)
    expect(audit_rows(page).filter(has_text="Therapist")).to_have_count(1)
    expect(audit_rows(page).filter(has_text="Other Client")).to_have_count(1)

    page.get_by_role("button", name="Show only events by Therapist").click()
    expect(page.get_by_label("Person ID")).to_have_value(str(personas.therapist.user.pk))
    expect(audit_rows(page)).to_have_count(1)
    expect(audit_rows(page).first).to_contain_text("Therapist")
    expect(page.get_by_role("button", name="Download CSV")).to_be_visible()


def test_staff_page_refuses_a_client_and_shows_another_practice_nothing(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer
) -> None:
    therapist_opens_client_profile(page, context, personas, app_server)

    act_as(context, personas.client, app_server)
    page.goto("/audit")
    expect(page.get_by_role("alert")).to_have_text("This page is for practice staff.")
    expect(page.locator("main table")).to_have_count(0)
    expect(page.get_by_role("button", name="Download CSV")).to_have_count(0)

    # Another practice's therapist is staff, of their own practice: they may open the page,
    # and see none of this practice's events.
    act_as(context, personas.other_practice_therapist, app_server)
    page.goto("/audit")
    expect(page.get_by_text("No events match these filters.")).to_be_visible()
    expect(page.locator("main table")).to_have_count(0)
    expect(page.get_by_text("Showing 0 events.")).to_be_visible()

    context.clear_cookies()
    page.goto("/audit")
    expect(page.get_by_text("Sign in with your practice account")).to_be_visible()


def test_export_asks_for_the_password_then_downloads_csv_with_the_event(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer
) -> None:
    secret_key = generate_secret_key()
    password, _ = give_password(personas.therapist.user, secret_key)
    give_totp(personas.therapist.user)  # staff pass the two-step gate
    therapist_opens_client_profile(page, context, personas, app_server)
    page.goto("/audit")
    expect(audit_rows(page)).to_have_count(1)

    page.get_by_label("Outcome").select_option(label="Allowed")
    page.get_by_role("button", name="Apply filters").click()
    # An export is a sensitive action: the page asks for the password (and, with no Secret
    # Key on this device, the Secret Key) before it downloads anything.
    page.get_by_role("button", name="Download CSV").click()
    confirm = page.get_by_role("form", name="Confirm it's you")
    confirm.get_by_label("Password").fill("not-the-password")
    confirm.get_by_label("Secret Key").fill(format_secret_key(secret_key))
    confirm.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text("That password or Secret Key is not right.")

    confirm.get_by_label("Password").fill(password)
    with page.expect_download(timeout=60_000) as download_info:
        confirm.get_by_role("button", name="Continue").click()
    download = download_info.value
    assert download.suggested_filename == "quietroom-audit.csv"
    content = download.path().read_text(encoding="utf-8")
    header, *rows = content.strip().splitlines()
    assert header.startswith("seq,at,actor_id,actor_name,actor_role")
    assert len(rows) == 1
    assert "client.profile.read" in rows[0]
    assert str(personas.client.membership.pk) in rows[0]
    assert ",Therapist,therapist," in rows[0]


# --- How your data is protected -------------------------------------------------------


def test_protection_page_shows_the_live_configuration(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer
) -> None:
    page.goto("/protection")  # signed out
    expect(page.get_by_role("heading", level=1)).to_have_text("How your data is protected")
    expect(page.get_by_text("locked in your browser and your therapist's")).to_be_visible()
    expect(page.get_by_text(f"Software: Quietroom {__version__}")).to_be_visible()
    years = round(settings.CONFIG.audit_retention_days / 365.25, 1)
    years_text = f"{years:g} year" + ("" if years == 1 else "s")
    expect(page.get_by_text(f"Entries are kept for {years_text}.")).to_be_visible()
    expect(page.get_by_text("Not yet checked.")).to_be_visible()
    expect(page.get_by_text("No backup has been recorded on this server yet.")).to_be_visible()
    expect(page.get_by_text("No restore drill has been recorded")).to_be_visible()
    hours = settings.SESSION_ABSOLUTE_SECONDS // 3600
    expect(page.get_by_text(f"automatically {hours} hours after you sign in")).to_be_visible()
    idle = settings.IDLE_LOGOFF_CLIENT_SECONDS // 60
    expect(page.get_by_text(f"signed out after {idle} minutes without activity")).to_be_visible()
    expect(page.get_by_text("Notes about your sessions")).to_be_visible()
    expect(page.get_by_text("Appointment times")).to_be_visible()

    therapist_opens_client_profile(page, context, personas, app_server)
    result = verify_database()
    assert result.ok
    page.reload()  # now signed in: the page reads the same either way
    expect(page.get_by_text("Intact.")).to_be_visible()
    expect(page.get_by_text(f"({result.events} entr")).to_be_visible()
    expect(page.get_by_text("Not yet checked.")).to_have_count(0)


# --- Phones -----------------------------------------------------------------------------


def test_audit_pages_fit_a_phone_without_sideways_scrolling(
    page: Page, context: BrowserContext, personas: Personas, app_server: AppServer
) -> None:
    therapist_opens_client_profile(page, context, personas, app_server)
    page.set_viewport_size({"width": 360, "height": 740})

    page.goto("/protection")
    expect(page.get_by_text("Software: Quietroom")).to_be_visible()
    assert no_sideways_scroll(page) <= 0, "/protection scrolls sideways on a phone"

    page.goto("/audit")
    expect(audit_rows(page)).to_have_count(1)
    # The table stacks: each cell carries its own label, the header row is hidden.
    expect(page.locator("main table thead")).not_to_be_in_viewport()
    assert no_sideways_scroll(page) <= 0, "/audit scrolls sideways on a phone"

    act_as(context, personas.client, app_server)
    page.goto("/my-access")
    expect(access_items(page)).to_have_count(1)
    assert no_sideways_scroll(page) <= 0, "/my-access scrolls sideways on a phone"
    page.get_by_label("Show").select_option(label="Choose dates…")
    expect(page.get_by_label("To")).to_be_visible()
    assert no_sideways_scroll(page) <= 0, "/my-access date filters scroll sideways on a phone"
