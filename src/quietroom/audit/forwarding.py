"""Optional forwarding of each committed audit event to syslog (RFC 5424 over TCP, with
RFC 6587 octet counting), so a copy of the trail lives outside this host."""

from __future__ import annotations

import json
import logging
import socket
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import transaction

from quietroom.core import background

logger = logging.getLogger("quietroom.audit")
# facility local0 (16), severity notice (5)
PRIORITY = 16 * 8 + 5


def syslog_frame(event: dict[str, Any]) -> bytes:
    timestamp = datetime.now(tz=UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    hostname = socket.gethostname()[:255] or "-"
    body = json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    message = f"<{PRIORITY}>1 {timestamp} {hostname} quietroom - audit - {body}".encode("ascii")
    return str(len(message)).encode("ascii") + b" " + message


def send(url: str, event: dict[str, Any]) -> None:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "", parts.port or 514), timeout=5) as s:
            s.sendall(syslog_frame(event))
    except OSError as exc:
        # The database copy is authoritative; a syslog outage must not fail the user's action.
        logger.warning("audit syslog forwarding failed", extra={"error": type(exc).__name__})


def forward_on_commit(event: dict[str, Any]) -> None:
    url: str | None = settings.CONFIG.audit_syslog_url
    if url:
        # Off the item writer's thread (quietroom.core.background): a slow syslog server must
        # not hold up every sender.
        transaction.on_commit(lambda: background.run_or_defer(lambda: send(url, event)))
