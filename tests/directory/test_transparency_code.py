"""The practice security code on the public transparency facts (crypto-protocol §6.5)."""

from __future__ import annotations

import pytest
from django.test import Client

from quietroom.crypto.verification import groups, practice_code
from tests.directory.world import keyed_world
from tests.harness.personas import Personas

pytestmark = pytest.mark.django_db


def test_no_code_before_set_up() -> None:
    facts = Client().get("/api/transparency").json()
    assert facts["practice_security_code"] is None


def test_code_is_the_practices_prsk_fingerprint(personas: Personas) -> None:
    world = keyed_world(personas)
    facts = Client().get("/api/transparency").json()
    expected = groups(practice_code(world.keys.prsk_pub, personas.practice.id))
    assert facts["practice_security_code"] == expected
    assert len(expected) == 6
    assert all(len(g) == 5 and g.isdigit() for g in expected)
