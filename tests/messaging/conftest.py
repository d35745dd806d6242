"""Fixtures shared by the messaging tests."""

from __future__ import annotations

import uuid

import pytest
from django.utils import timezone

from quietroom.messaging.access import conversation_for
from quietroom.messaging.models import Conversation, ConversationItem
from tests.harness.personas import Persona, Personas


@pytest.fixture
def conversation(personas: Personas) -> Conversation:
    """The personas' client's conversation, made as on first use."""
    access = conversation_for(personas.client.user, personas.client.membership.pk)
    assert access is not None
    return access.conversation


def store_row(
    conversation: Conversation, author: Persona, *, header: str = "{}", body_ct: str = "x"
) -> int:
    """An item row as the item store leaves it, without the checks: for tests of what happens
    after an item is stored. Returns its seq."""
    conversation.last_seq += 1
    conversation.save()
    ConversationItem.objects.create(
        conversation=conversation,
        seq=conversation.last_seq,
        item_id=uuid.uuid4(),
        type="message",
        author=author.user,
        header=header,
        body_ct=body_ct,
        sig="x",
        upload_sha256="0" * 64,
        created_at_ms=0,
        received_at=timezone.now(),
    )
    return conversation.last_seq
