"""The new-device notice (AU-07): a sign-in from a network and browser pair the account has not
signed in from before sends one neutral email after commit; the first sign-in, a known device,
a browser update and a failed attempt send none, and a mail outage never blocks sign-in."""

from __future__ import annotations

import socketserver
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from typing import Any

import pytest
import time_machine
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core import mail
from django.test import override_settings

from quietroom.accounts.adapters import MFAAdapter
from quietroom.accounts.notices import SUBJECT, browser_words
from tests.harness.personas import Persona, Personas
from tests.test_signin import BASE, Browser, give_sign_in, new_auth_key

pytestmark = pytest.mark.django_db

FIREFOX_LINUX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
FIREFOX_LINUX_NEWER = "Mozilla/5.0 (X11; Linux x86_64; rv:129.0) Gecko/20100101 Firefox/129.0"
SAFARI_IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15"
    " (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)
CHROME_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/126.0.0.0 Safari/537.36"
)
EDGE_WINDOWS = CHROME_WINDOWS + " Edg/126.0.0.0"

Capture = Callable[..., Any]


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks: Capture) -> Capture:
    """Runs the after-commit callbacks, as a real commit would (the test's transaction never
    commits)."""
    return django_capture_on_commit_callbacks


def sign_in(persona: Persona, key: str, address: str, agent: str, on_commit: Capture) -> int:
    browser = Browser(address)
    browser.client.defaults["HTTP_USER_AGENT"] = agent
    with on_commit(execute=True):
        status: int = browser.login(persona.user.email, key).status_code
    return status


def test_first_sign_in_and_known_device_send_nothing(
    personas: Personas, on_commit: Capture
) -> None:
    key = give_sign_in(personas.client.user)
    assert sign_in(personas.client, key, "192.0.2.10", FIREFOX_LINUX, on_commit) == 200
    assert mail.outbox == []  # the very first sign-in: every device is new
    assert sign_in(personas.client, key, "192.0.2.77", FIREFOX_LINUX, on_commit) == 200
    assert sign_in(personas.client, key, "192.0.2.10", FIREFOX_LINUX_NEWER, on_commit) == 200
    assert mail.outbox == []  # same /24, same browser family and system


def test_new_network_sends_one_neutral_notice(personas: Personas, on_commit: Capture) -> None:
    persona = personas.client
    key = give_sign_in(persona.user)
    assert sign_in(persona, key, "192.0.2.10", FIREFOX_LINUX, on_commit) == 200
    assert sign_in(persona, key, "198.51.100.20", FIREFOX_LINUX, on_commit) == 200
    [message] = mail.outbox
    assert message.subject == SUBJECT
    assert message.to == [persona.user.email]
    body = str(message.body)
    assert "Browser: Firefox on Linux" in body
    assert "Approximate network: 198.51.100.0/24" in body
    assert "198.51.100.20" not in body  # the network, never the exact address
    assert " UTC\n" in body
    assert (
        "If this was not you, sign in and end that session on your Security page, "
        "or contact your practice." in body
    )
    # No link to phish with, and nothing that says which practice or therapist.
    lowered = body.lower()
    for word in ("http", "www.", "/", personas.practice.name.lower()):
        assert word not in lowered.replace("198.51.100.0/24", "")
    for member in (personas.therapist, personas.owner):
        assert member.user.display_name.lower() not in lowered
    for word in ("therapy", "therapist", "session with", "client", "appointment"):
        assert word not in lowered


def test_new_browser_on_a_known_network_sends_a_notice_once(
    personas: Personas, on_commit: Capture
) -> None:
    persona = personas.other_client  # staff would also answer a TOTP challenge: same receiver
    key = give_sign_in(persona.user)
    assert sign_in(persona, key, "192.0.2.10", CHROME_WINDOWS, on_commit) == 200
    assert sign_in(persona, key, "192.0.2.10", EDGE_WINDOWS, on_commit) == 200
    assert sign_in(persona, key, "192.0.2.10", EDGE_WINDOWS, on_commit) == 200
    assert [m.subject for m in mail.outbox] == [SUBJECT]
    assert "Browser: Edge on Windows" in str(mail.outbox[0].body)


def test_failed_sign_in_from_a_new_device_sends_nothing(
    personas: Personas, on_commit: Capture
) -> None:
    persona = personas.client
    key = give_sign_in(persona.user)
    assert sign_in(persona, key, "192.0.2.10", FIREFOX_LINUX, on_commit) == 200
    assert sign_in(persona, new_auth_key(), "203.0.113.5", SAFARI_IPHONE, on_commit) == 400
    assert mail.outbox == []


def test_ipv6_is_compared_by_its_48(personas: Personas, on_commit: Capture) -> None:
    persona = personas.client
    key = give_sign_in(persona.user)
    assert sign_in(persona, key, "2001:db8:1:2::5", SAFARI_IPHONE, on_commit) == 200
    assert sign_in(persona, key, "2001:db8:1:ffff::9", SAFARI_IPHONE, on_commit) == 200
    assert mail.outbox == []
    assert sign_in(persona, key, "2001:db8:2::1", SAFARI_IPHONE, on_commit) == 200
    assert "Approximate network: 2001:db8:2::/48" in str(mail.outbox[0].body)


@override_settings(
    EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
    EMAIL_HOST="127.0.0.1",
    EMAIL_PORT=9,  # discard: nothing listens, the connection is refused
    EMAIL_TIMEOUT=2,
)
def test_mail_outage_does_not_block_sign_in(personas: Personas, on_commit: Capture) -> None:
    persona = personas.client
    key = give_sign_in(persona.user)
    assert sign_in(persona, key, "192.0.2.10", FIREFOX_LINUX, on_commit) == 200
    assert sign_in(persona, key, "198.51.100.20", FIREFOX_LINUX, on_commit) == 200


def test_sign_in_with_a_second_factor_is_noticed_once_complete(
    personas: Personas, on_commit: Capture
) -> None:
    """allauth signals the sign-in only after the second step; the notice follows it."""
    user = personas.therapist.user
    totp = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
    if totp is None:
        sealed = MFAAdapter().encrypt("JBSWY3DPEHPK3PXP")
        totp = Authenticator.objects.create(
            user=user, type=Authenticator.Type.TOTP, data={"secret": sealed}
        )
    secret = MFAAdapter().decrypt(totp.data["secret"])
    key = give_sign_in(user)

    def two_step(address: str) -> None:
        browser = Browser(address)
        browser.client.defaults["HTTP_USER_AGENT"] = FIREFOX_LINUX
        with on_commit(execute=True):
            pending = browser.login(user.email, key, second_factor=False)
            assert pending.status_code == 401  # the code is asked for
            assert mail.outbox == []
            code = format_hotp_value(hotp_value(secret, int(datetime.now(UTC).timestamp()) // 30))
            answer = browser.post(f"{BASE}/auth/2fa/authenticate", {"code": code})
            assert answer.status_code == 200, answer.json()

    with time_machine.travel(datetime(2031, 5, 1, 9, 0, tzinfo=UTC), tick=False) as clock:
        two_step("192.0.2.10")
        clock.shift(timedelta(minutes=1))  # a fresh code: allauth refuses a code used before
        two_step("198.51.100.20")
    [message] = mail.outbox
    assert "Approximate network: 198.51.100.0/24" in str(message.body)


@pytest.mark.parametrize(
    ("agent", "words"),
    [
        (FIREFOX_LINUX, "Firefox on Linux"),
        (SAFARI_IPHONE, "Safari on iPhone"),
        (CHROME_WINDOWS, "Chrome on Windows"),
        (EDGE_WINDOWS, "Edge on Windows"),
        ("", "Unknown browser"),
        ("curl/8.0", "Unknown browser"),
    ],
)
def test_browser_words_match_the_security_page(agent: str, words: str) -> None:
    assert browser_words(agent) == words


# --- Through a real SMTP conversation ----------------------------------------------------
# aiosmtpd is not installed in this environment; this minimal SMTP receiver (stdlib only)
# speaks just enough of RFC 5321 for smtplib, so the app's SMTP backend is exercised for real.


class _SmtpHandler(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        server: _SmtpServer = self.server  # type: ignore[assignment]
        self._reply("220 localhost ESMTP test")
        while line := self.rfile.readline():
            verb = line.decode("ascii", "replace").strip().split(" ", 1)[0].upper()
            if verb in {"EHLO", "HELO"}:
                self._reply("250 localhost")
            elif verb in {"MAIL", "RCPT", "RSET", "NOOP"}:
                self._reply("250 OK")
            elif verb == "DATA":
                self._reply("354 end with .")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in {b".\r\n", b""}:
                    data += chunk[1:] if chunk.startswith(b"..") else chunk
                server.messages.append(bytes(data))
                self._reply("250 queued")
            elif verb == "QUIT":
                self._reply("221 bye")
                return
            else:
                self._reply("502 not implemented")

    def _reply(self, text: str) -> None:
        self.wfile.write(text.encode("ascii") + b"\r\n")


class _SmtpServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _SmtpHandler)
        self.messages: list[bytes] = []


@pytest.fixture
def smtp_server() -> Iterator[_SmtpServer]:
    server = _SmtpServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_notice_goes_out_over_smtp(
    personas: Personas, on_commit: Capture, smtp_server: _SmtpServer
) -> None:
    persona = personas.client
    key = give_sign_in(persona.user)
    with override_settings(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        EMAIL_HOST="127.0.0.1",
        EMAIL_PORT=smtp_server.server_address[1],
        EMAIL_USE_TLS=False,
        EMAIL_USE_SSL=False,
        EMAIL_TIMEOUT=5,
    ):
        assert sign_in(persona, key, "192.0.2.10", FIREFOX_LINUX, on_commit) == 200
        assert sign_in(persona, key, "203.0.113.9", SAFARI_IPHONE, on_commit) == 200
    [raw] = smtp_server.messages
    message = message_from_bytes(raw)
    assert message["Subject"] == SUBJECT
    assert message["To"] == persona.user.email
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    assert "Browser: Safari on iPhone" in payload.decode()
