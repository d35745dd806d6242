"""A notice email on sign-in from a new device (AU-07): when a sign-in comes from a pair of
coarse network and browser (family and system) that none of the account's earlier successful
sign-ins on the audit trail came from, the account's address is told, after commit.

The email carries no link (nothing to phish with), no practice or therapist name and nothing
clinical: whoever reads the recipient's mail learns only that a Quietroom account exists. The
very first sign-in of an account is not announced: every device is new then.
"""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from typing import Any

from allauth.account import signals as account_signals
from django.core.mail import send_mail
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from quietroom.accounts.models import User
from quietroom.audit.models import AuditEvent, Outcome
from quietroom.audit.services import Origin

logger = logging.getLogger("quietroom.accounts")

SUBJECT = "New sign-in to your Quietroom account"

# The same words the Security page shows (web/src/api/security.ts browserWords), so the email
# and the page name a device alike. Order matters: Edge and Opera also say "Chrome".
_BROWSERS = [
    (re.compile(r"Edg(e|A|iOS)?/"), "Edge"),
    (re.compile(r"OPR/|Opera"), "Opera"),
    (re.compile(r"Firefox/|FxiOS/"), "Firefox"),
    (re.compile(r"SamsungBrowser/"), "Samsung Internet"),
    (re.compile(r"Chrome/|Chromium/|CriOS/"), "Chrome"),
]
_SYSTEMS = [
    (re.compile(r"iPhone"), "iPhone"),
    (re.compile(r"iPad"), "iPad"),
    (re.compile(r"Android"), "Android"),
    (re.compile(r"CrOS"), "ChromeOS"),
    (re.compile(r"Windows"), "Windows"),
    (re.compile(r"Mac OS X|Macintosh"), "macOS"),
    (re.compile(r"Linux|X11"), "Linux"),
]


def browser_words(user_agent: str) -> str:
    """Words like "Firefox on Linux"; "Unknown browser" when the agent said nothing useful.
    Versions are dropped on purpose: a browser update is not a new device."""
    ua = user_agent.strip()
    if not ua:
        return "Unknown browser"
    browser = next((name for pattern, name in _BROWSERS if pattern.search(ua)), None)
    if browser is None and "Safari/" in ua and "Version/" in ua:
        browser = "Safari"
    system = next((name for pattern, name in _SYSTEMS if pattern.search(ua)), None)
    if browser is None and system is None:
        return "Unknown browser"
    if browser is None:
        return f"A browser on {system}"
    return browser if system is None else f"{browser} on {system}"


def _earlier_devices(user: User) -> set[tuple[str, str]] | None:
    """(network, browser words) of the account's earlier successful sign-ins; None if none."""
    rows = (
        AuditEvent.objects.filter(actor=user, action="auth.login", outcome=Outcome.ALLOWED)
        .values_list("address", "user_agent")
        .distinct()
    )
    seen = {(address, browser_words(agent)) for address, agent in rows}
    return seen or None


def notice_text(at: datetime, browser: str, network: str) -> str:
    return (
        "Hello,\n\n"
        "Your Quietroom account was just signed in to from a device or network it has not "
        "been used from before.\n\n"
        f"Time: {at.astimezone(UTC):%Y-%m-%d %H:%M} UTC\n"
        f"Browser: {browser}\n"
        f"Approximate network: {network or 'unknown'}\n\n"
        "If this was you, there is nothing to do.\n"
        "If this was not you, sign in and end that session on your Security page, "
        "or contact your practice.\n"
    )


def _send(address: str, body: str) -> None:
    try:
        send_mail(SUBJECT, body, None, [address])
    except Exception as error:  # noqa: BLE001 - a mail outage must not break sign-in
        # The exception's text may hold the address: log only its type.
        logger.warning("new-device notice not sent", extra={"error": type(error).__name__})


def on_logged_in(sender: Any, request: HttpRequest, user: User, **kwargs: Any) -> None:
    """Connected before the audit receiver (accounts/apps.py), so the trail read here holds only
    the earlier sign-ins, not this one."""
    if not isinstance(user, User) or not user.email:
        return
    origin = Origin.of(request)
    device = (origin.address, browser_words(origin.user_agent))
    earlier = _earlier_devices(user)
    if earlier is None or device in earlier:
        return
    body = notice_text(timezone.now(), device[1], device[0])
    address = user.email
    transaction.on_commit(lambda: _send(address, body))


def connect() -> None:
    account_signals.user_logged_in.connect(on_logged_in, dispatch_uid="qr-new-device-notice")
