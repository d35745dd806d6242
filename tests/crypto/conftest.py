"""Shared fixtures for the protocol tests: hypothesis profiles, the vector file, a test world."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from quietroom.crypto import vectors

# ci: fixed examples so a red build reproduces; release: the long run before a release.
settings.register_profile(
    "ci",
    max_examples=200,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile(
    "release", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

VECTOR_DIR = Path(__file__).resolve().parents[2] / "testdata" / "vectors"


@pytest.fixture(scope="session")
def qr1() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((VECTOR_DIR / "qr1.json").read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="session")
def world() -> vectors.World:
    """The deterministic practice of the vector file, as live Python objects."""
    return vectors.World()
