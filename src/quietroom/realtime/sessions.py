"""Ending WebSocket connections when the session or account behind them ends (AC-07).

Each connection joins two groups: its browser session's and its user's. Signing out, automatic
logoff and revoking a session close that session's sockets; disabling an account closes all of
its sockets. Group names carry a hash of the session key, never the key itself.
"""

from __future__ import annotations

import hashlib
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

END_MESSAGE = {"type": "session.end"}


def session_group(session_key: str) -> str:
    return "session." + hashlib.sha256(session_key.encode("ascii")).hexdigest()[:40]


def user_group(user_id: UUID) -> str:
    return f"user.{user_id.hex}"


def _send(group: str) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, END_MESSAGE)


def end_session_sockets(session_key: str | None) -> None:
    if session_key:
        _send(session_group(session_key))


def end_user_sockets(user_id: UUID) -> None:
    _send(user_group(user_id))
