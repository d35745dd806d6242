"""The item store's hot path (issue #6): the cheap paths it takes must keep every rule. Once a
recipient was told about an unread stretch, a later item costs one read and writes nothing;
the participants the store passes along give the same answers as reading them again."""

from __future__ import annotations

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from quietroom.messaging.access import conversation_for, participants
from quietroom.messaging.models import Conversation, ReadState
from quietroom.messaging.notifications import notify_new_item
from quietroom.practices.models import Membership
from tests.harness.personas import Personas
from tests.messaging.conftest import store_row

pytestmark = pytest.mark.django_db


def test_nothing_due_is_one_read_and_no_write(
    personas: Personas, conversation: Conversation
) -> None:
    members = participants(conversation)
    client_user = personas.client.user.pk
    seq = store_row(conversation, personas.therapist)
    notify_new_item(
        conversation.pk,
        seq,
        personas.therapist.user.pk,
        members=members,
        client_user_id=client_user,
    )
    assert len(mail.outbox) == 1
    seq = store_row(conversation, personas.therapist)
    with CaptureQueriesContext(connection) as queries:
        notify_new_item(
            conversation.pk,
            seq,
            personas.therapist.user.pk,
            members=members,
            client_user_id=client_user,
        )
    assert len(mail.outbox) == 1
    assert len(queries.captured_queries) == 1
    assert queries.captured_queries[0]["sql"].lstrip().upper().startswith("SELECT")


def test_passed_participants_give_the_same_emails(
    personas: Personas, conversation: Conversation
) -> None:
    members = participants(conversation)
    seq = store_row(conversation, personas.client)
    notify_new_item(
        conversation.pk,
        seq,
        personas.client.user.pk,
        members=members,
        client_user_id=personas.client.user.pk,
    )
    assert [m.to for m in mail.outbox] == [[personas.therapist.user.email]]
    # Read, then a new item starts a new stretch: told again.
    ReadState.objects.filter(conversation=conversation, user=personas.therapist.user).update(
        last_read_seq=seq
    )
    seq = store_row(conversation, personas.client)
    notify_new_item(
        conversation.pk,
        seq,
        personas.client.user.pk,
        members=members,
        client_user_id=personas.client.user.pk,
    )
    assert len(mail.outbox) == 2
    # Read past the item: nothing, and nothing written.
    ReadState.objects.filter(conversation=conversation, user=personas.therapist.user).update(
        last_read_seq=seq + 1
    )
    seq = store_row(conversation, personas.client)
    with CaptureQueriesContext(connection) as queries:
        notify_new_item(
            conversation.pk,
            seq - 1,
            personas.client.user.pk,
            members=members,
            client_user_id=personas.client.user.pk,
        )
    assert len(mail.outbox) == 2
    assert len(queries.captured_queries) == 1


def _fields(instance: object) -> dict[str, object]:
    meta = type(instance)._meta  # type: ignore[attr-defined]
    return {f.attname: getattr(instance, f.attname) for f in meta.concrete_fields}


@pytest.mark.parametrize("who", ["client", "therapist"])
def test_hand_loaded_access_matches_the_orm(personas: Personas, who: str) -> None:
    """`conversation_for` loads the client, practice, account and conversation in one
    hand-written query: the instances must equal what the ORM loads, value for value and
    type for type (UUIDs, aware datetimes, booleans), on any database."""
    user = getattr(personas, who).user
    client_id = personas.client.membership.pk
    first = conversation_for(user, client_id)  # makes the conversation
    assert first is not None
    with CaptureQueriesContext(connection) as queries:
        access = conversation_for(user, client_id)
    assert access is not None
    assert len(queries.captured_queries) == 1
    orm = Membership.objects.select_related("practice", "user", "conversation").get(pk=client_id)
    for mine, theirs in (
        (access.client, orm),
        (access.client.practice, orm.practice),
        (access.client.user, orm.user),
        (access.conversation, orm.conversation),
    ):
        a, b = _fields(mine), _fields(theirs)
        assert a == b
        assert {k: type(v) for k, v in a.items()} == {k: type(v) for k, v in b.items()}
    assert access.conversation.client is access.client
    assert access.role == who
    if who == "therapist":
        assert access.actor.pk == personas.therapist.membership.pk
