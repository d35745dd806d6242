"""New-message emails (docs/api/messaging.md "Notifications"): one per unread stretch, to other
participants who want them, with no content, no link but the sign-in page, and no names unless a
client asked for them (never for a neutral sender)."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from django.core import mail

from quietroom.messaging.models import (
    Conversation,
    NotificationPrefs,
    ReadState,
)
from quietroom.messaging.notifications import notify_new_item, sign_in_url
from quietroom.practices.models import CareTeamMember
from tests.harness.personas import Persona, Personas
from tests.messaging.conftest import store_row

pytestmark = pytest.mark.django_db

CANARY = "CANARY-do-not-email-7f3a"
URL = re.compile(r"[a-z][a-z0-9+.-]*://\S+", re.IGNORECASE)


def send(conversation: Conversation, author: Persona) -> int:
    """Stores an item as the item store does (ciphertext only), then notifies."""
    seq = store_row(conversation, author, header=f'{{"note": "{CANARY}"}}', body_ct=CANARY)
    notify_new_item(conversation.id, seq, author.user.pk)
    return seq


def read_up_to(conversation: Conversation, persona: Persona, seq: int) -> None:
    ReadState.objects.update_or_create(
        conversation=conversation, user=persona.user, defaults={"last_read_seq": seq}
    )


def prefs(persona: Persona, **choices: bool) -> None:
    NotificationPrefs.objects.update_or_create(user=persona.user, defaults=choices)


def to(address: str) -> list[Any]:
    return [m for m in mail.outbox if m.to == [address]]


def test_other_participants_get_one_neutral_email(
    personas: Personas, conversation: Conversation
) -> None:
    send(conversation, personas.therapist)
    assert [m.to for m in mail.outbox] == [[personas.client.user.email]]
    message = mail.outbox[0]
    assert message.subject == "New secure message"
    assert "You have a new secure message from your practice." in message.body
    assert sign_in_url() in message.body
    assert set(URL.findall(str(message.body))) == {sign_in_url()}
    everything = message.message().as_string()
    for secret in (CANARY, personas.therapist.user.display_name, personas.practice.name):
        assert secret not in everything
    assert str(conversation.client_id) not in everything


def test_one_email_per_unread_stretch(personas: Personas, conversation: Conversation) -> None:
    send(conversation, personas.therapist)
    send(conversation, personas.therapist)
    send(conversation, personas.therapist)
    assert len(to(personas.client.user.email)) == 1
    read_up_to(conversation, personas.client, 3)
    send(conversation, personas.therapist)
    assert len(to(personas.client.user.email)) == 2
    # The client's own replies do not start a new stretch for the client.
    send(conversation, personas.client)
    send(conversation, personas.therapist)
    assert len(to(personas.client.user.email)) == 2


def test_the_author_and_people_who_have_read_get_nothing(
    personas: Personas, conversation: Conversation
) -> None:
    seq = send(conversation, personas.client)
    assert [m.to for m in mail.outbox] == [[personas.therapist.user.email]]
    read_up_to(conversation, personas.therapist, seq + 5)
    send(conversation, personas.client)
    assert len(mail.outbox) == 1


def test_every_team_member_is_told_once(personas: Personas, conversation: Conversation) -> None:
    CareTeamMember.objects.create(
        client=personas.client.membership, therapist=personas.other_therapist.membership
    )
    send(conversation, personas.client)
    send(conversation, personas.client)
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        [personas.therapist.user.email, personas.other_therapist.user.email]
    )
    # Removed members, other practices, owners are not participants.
    addresses = {m.to[0] for m in mail.outbox}
    for persona in (personas.removed_member, personas.owner, personas.other_practice_therapist):
        assert persona.user.email not in addresses


def test_opting_out(personas: Personas, conversation: Conversation) -> None:
    prefs(personas.client, email_on_message=False)
    send(conversation, personas.therapist)
    assert mail.outbox == []


def test_a_client_may_ask_for_the_therapists_name(
    personas: Personas, conversation: Conversation
) -> None:
    prefs(personas.client, name_sender=True)
    send(conversation, personas.therapist)
    message = mail.outbox[0]
    name = personas.therapist.user.display_name
    assert f"You have a new secure message from {name} at your practice." in message.body
    assert personas.practice.name not in message.message().as_string()
    # Staff never get a name, whatever they chose.
    prefs(personas.therapist, name_sender=True)
    send(conversation, personas.client)
    assert personas.client.user.display_name not in to(personas.therapist.user.email)[0].body


def test_neutral_sender(personas: Personas, conversation: Conversation, settings: Any) -> None:
    prefs(personas.client, name_sender=True, neutral_sender=True)
    send(conversation, personas.therapist)
    message = mail.outbox[0]
    assert message.subject == "You have a new notification"
    assert message.from_email.startswith("Notifications <")
    assert settings.DEFAULT_FROM_EMAIL.split("<")[-1].rstrip(">") in message.from_email
    assert "from your practice." in message.body
    everything = message.message().as_string()
    for secret in (
        CANARY,
        personas.therapist.user.display_name,
        personas.practice.name,
        "Secure message",
        "secure message from " + personas.therapist.user.display_name,
    ):
        assert secret not in everything
    assert set(URL.findall(str(message.body))) == {sign_in_url()}


def test_unknown_conversation_or_author_is_ignored(personas: Personas) -> None:
    notify_new_item(uuid.uuid4(), 1, personas.therapist.user.pk)
    assert mail.outbox == []


def test_a_failing_mail_server_does_not_raise(
    personas: Personas, conversation: Conversation, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any, **kwargs: Any) -> int:
        raise OSError("connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    send(conversation, personas.therapist)  # no exception
