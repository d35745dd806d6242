"""Opening an invitation hands the browser the practice's signed configs, so it can pin the PRSK
and seal its escrow to the current PRK before it has an account (crypto-protocol §6.4, §4.4)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from quietroom.crypto import envelope, practice
from quietroom.crypto.encoding import sha256
from tests.directory.world import keyed_world, store_config
from tests.harness.personas import Personas

pytestmark = pytest.mark.django_db


def test_open_returns_the_practice_id_and_every_config(
    personas: Personas, django_capture_on_commit_callbacks: Any
) -> None:
    world = keyed_world(personas)
    second = practice.sign_config(
        world.prsk,
        practice_id=personas.practice.id,
        seq=2,
        prev_hash=sha256(world.config.message()),
        prk_pub=world.keys.prk_pub,
        name=personas.practice.name,
        policy={"staff_password_every_start": "true"},
    )
    store_config(personas.practice, second)
    owner = Client()
    owner.force_login(personas.owner.user)
    with django_capture_on_commit_callbacks(execute=True):  # the email goes out on commit
        invited = owner.post(
            f"/api/practices/{personas.practice.id}/invitations",
            {"email": "new@example.org", "role": "therapist"},
            content_type="application/json",
        )
    assert invited.status_code == 201, invited.content
    match = re.search(r"/join#token=([A-Za-z0-9_-]+)", str(mail.outbox[-1].body))
    assert match
    opened = Client().post(
        "/api/invitations/open",
        json.dumps({"token": match.group(1)}),
        content_type="application/json",
    )
    assert opened.status_code == 200, opened.content
    body = opened.json()
    assert body["practice_id"] == str(personas.practice.id)
    assert body["configs"] == [envelope.encode_config(c) for c in (world.config, second)]
    # The browser can check the chain from the first config's PRSK.
    configs = [envelope.decode_config_obj(c) for c in body["configs"]]
    practice.accept_configs(
        None, configs, practice_id=personas.practice.id, pinned_prsk_pub=configs[0].prsk_pub
    )
