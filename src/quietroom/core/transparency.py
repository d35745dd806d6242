""" "How your data is protected", generated from the running configuration and state, so the
page can never claim more than this server actually does."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from uuid import UUID

from django.conf import settings
from django.db import connection
from ninja import Schema

from quietroom import __version__
from quietroom.audit.verification import latest_verification
from quietroom.crypto.encoding import b64url_decode
from quietroom.crypto.verification import groups, practice_code
from quietroom.directory.models import PracticeConfigVersion

SEALED_IN_BROWSER = [
    "Messages between you and your care team",
    "Attachments you or your therapist send",
    "Answers to intake and consent forms",
    "Notes about your sessions",
    "Where you are when you join a video session",
]
SERVER_SEES = [
    "Your email address and name",
    "Your practice, your role and your care team",
    "Appointment times",
    "When something was sent or opened, and its size, but never its content",
    "Public keys and signatures",
    "The access history described below",
]


class ChainStatus(Schema):
    state: str  # "intact", "broken" or "not yet checked"
    checked_at: datetime | None
    events: int | None


class Transparency(Schema):
    version: str
    sealed_in_browser: list[str]
    server_sees: list[str]
    database: str
    files: str
    third_parties: str
    session_lifetime_hours: int
    idle_logoff_staff_minutes: int
    idle_logoff_client_minutes: int
    two_step_verification: str
    audit_retention_years: float
    audit_chain: ChainStatus
    last_backup_at: datetime | None
    last_restore_drill_at: datetime | None
    # The practice security code (crypto-protocol §6.5), 6 groups of 5 digits, to compare with
    # the recovery sheet and what the practice publishes; None before set-up.
    practice_security_code: list[str] | None


@lru_cache(maxsize=8)
def _code(prsk_pub: str, practice_id: UUID) -> tuple[str, ...]:
    # 5200 rounds of SHA-512 for a public page: worth remembering (the inputs never change).
    return tuple(groups(practice_code(b64url_decode(prsk_pub, 32), practice_id)))


def practice_security_code() -> list[str] | None:
    """v1 serves one practice; its PRSK is pinned by its first config and never rotates."""
    first = PracticeConfigVersion.objects.filter(seq=1).order_by("created_at").first()
    if first is None:
        return None
    return list(_code(first.prsk_pub, first.practice_id))


def build() -> Transparency:
    last = latest_verification()
    chain = ChainStatus(
        state="not yet checked" if last is None else ("intact" if last.ok else "broken"),
        checked_at=last.checked_at if last else None,
        events=last.events if last else None,
    )
    database = (
        "PostgreSQL database run by your practice"
        if connection.vendor == "postgresql"
        else "a database file on your practice's own server"
    )
    return Transparency(
        version=__version__,
        sealed_in_browser=SEALED_IN_BROWSER,
        server_sees=SERVER_SEES,
        database=database,
        files="encrypted files on your practice's own server",
        third_parties="none: no analytics, trackers, advertising, outside fonts or scripts",
        session_lifetime_hours=settings.SESSION_ABSOLUTE_SECONDS // 3600,
        idle_logoff_staff_minutes=settings.IDLE_LOGOFF_STAFF_SECONDS // 60,
        idle_logoff_client_minutes=settings.IDLE_LOGOFF_CLIENT_SECONDS // 60,
        # Say only what the server enforces today: enrolment is offered, not yet required.
        two_step_verification=(
            "offered to everyone: an authenticator app, a passkey or recovery codes"
        ),
        audit_retention_years=round(settings.CONFIG.audit_retention_days / 365.25, 1),
        audit_chain=chain,
        # Backups and restore drills arrive with the operations capability.
        last_backup_at=None,
        last_restore_drill_at=None,
        practice_security_code=practice_security_code(),
    )
