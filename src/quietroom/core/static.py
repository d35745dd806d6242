"""Headers for the built web client's files (a WhiteNoise hook; no Django imports needed)."""

from __future__ import annotations

from typing import Any


def static_headers(headers: Any, path: str, url: str) -> None:
    """index.html must never be cached, so a new release (and its SRI hashes) is picked up."""
    if url.endswith((".html", "/")):
        headers["Cache-Control"] = "no-store"
