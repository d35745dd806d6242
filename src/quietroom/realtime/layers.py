"""The in-process channel layer (the default without Redis)."""

from __future__ import annotations

import time
from typing import Any, Final

from channels.layers import InMemoryChannelLayer

SWEEP_SECONDS: Final = 1.0


class InProcessChannelLayer(InMemoryChannelLayer):  # type: ignore[misc]  # untyped base
    """Channels' in-memory layer, sweeping expired messages and group memberships at most once
    a second. Channels sweeps on every `receive` and `group_send`, and the sweep walks every
    open socket's channel and group membership: with 1,000 signed-in tabs that was thousands
    of steps per message delivered. Messages expire after 60 s and memberships after a day,
    so a sweep up to a second late changes nothing anyone sees."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._swept = 0.0

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._swept < SWEEP_SECONDS:
            return
        self._swept = now
        super()._clean_expired()
