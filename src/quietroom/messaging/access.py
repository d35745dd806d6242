"""Who may take part in a client's conversation (docs/api/messaging.md, "Conversations").

`conversation_for` is the one access decision for every conversation endpoint and frame: the
client themself, or a therapist currently on the client's care team. Owners and admins are not
participants because of their role: they see metadata elsewhere, never messages. Anyone else,
and an unknown id, gets None (the API's 404) and a `denied` audit event naming the client when
the client exists, so insider snooping shows up in the practice's review.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import IntegrityError, connection, transaction
from django.db.models import UUIDField

from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_denied
from quietroom.messaging.models import Conversation
from quietroom.practices.access import client_for_audit
from quietroom.practices.models import CareTeamMember, Membership, Role


@dataclass(frozen=True)
class ConversationAccess:
    conversation: Conversation
    client: Membership  # whose conversation (practice and user loaded)
    actor: Membership  # the caller's membership: the client's own, or a care-team therapist's
    user: User

    @property
    def role(self) -> str:
        return "client" if self.actor.pk == self.client.pk else "therapist"


def _db(value: UUID) -> Any:
    """A UUID as the database backend stores it (hex text on SQLite, uuid on PostgreSQL)."""
    return UUIDField().get_db_prep_value(value, connection)


# Access is decided on every request and every stored item; these two queries are written by
# hand because the ORM's compilation of their joins costs more than running them.
_ACTOR_SQL = (
    "SELECT t.id FROM {team} ct JOIN {members} t ON t.id = ct.therapist_id"
    " WHERE ct.client_id = %s AND ct.removed_at IS NULL AND t.user_id = %s"
    " AND t.role = %s AND t.removed_at IS NULL LIMIT 1"
)
_PARTICIPANTS_SQL = (
    "SELECT m.user_id FROM {members} m WHERE m.id = %s AND m.removed_at IS NULL"
    " UNION SELECT t.user_id FROM {team} ct JOIN {members} t ON t.id = ct.therapist_id"
    " JOIN {users} u ON u.id = t.user_id"
    " WHERE ct.client_id = %s AND ct.removed_at IS NULL AND t.removed_at IS NULL"
    " AND t.role = %s AND u.is_active = %s"
)


def _sql(template: str) -> str:
    # `_meta` is Django's documented model metadata API, not a private member.
    return template.format(
        team=CareTeamMember._meta.db_table,  # noqa: SLF001
        members=Membership._meta.db_table,  # noqa: SLF001
        users=User._meta.db_table,  # noqa: SLF001
    )


def _participant_actor(user: User, client: Membership) -> Membership | None:
    if client.user_id == user.pk:
        return client
    with connection.cursor() as cursor:
        cursor.execute(_sql(_ACTOR_SQL), [_db(client.pk), _db(user.pk), Role.THERAPIST.value])
        row = cursor.fetchone()
    if row is None:
        return None
    # Only the id and role are read from the actor (audit rows); no second query for the rest.
    return Membership(
        id=UUID(str(row[0])), practice_id=client.practice_id, user=user, role=Role.THERAPIST
    )


def _conversation(client: Membership) -> Conversation:
    """The client's conversation, made on first use (two first uses may race: one insert wins)."""
    # The reverse one-to-one was loaded with the client (select_related) when it exists.
    found: Conversation | None
    try:
        found = client.conversation
    except Conversation.DoesNotExist:
        found = None
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return Conversation.objects.create(client=client, practice_id=client.practice_id)
    except IntegrityError:
        return Conversation.objects.get(client=client)


def conversation_for(
    user: User,
    client_id: UUID,
    *,
    action: str = "conversation.access",
    origin: Origin | None = None,
) -> ConversationAccess | None:
    """The caller's access to `client_id`'s conversation, or None after recording the denial
    as `action` (the audit action the caller was attempting)."""
    access = _decide(user, client_id)
    if access is None:
        target = client_for_audit(client_id)
        record_denied(
            action=action,
            actor=user if user.is_authenticated else None,
            practice=target.practice if target else None,
            client=target,
            object_type="conversation",
            object_id=str(client_id),
            origin=origin,
        )
    return access


def _decide(user: User, client_id: UUID) -> ConversationAccess | None:
    if not user.is_authenticated or not user.is_active:
        return None
    client = (
        Membership.objects.select_related("practice", "user", "conversation")
        .filter(pk=client_id, role=Role.CLIENT, removed_at__isnull=True)
        .first()
    )
    if client is None:
        return None
    actor = _participant_actor(user, client)
    if actor is None:
        return None
    return ConversationAccess(_conversation(client), client, actor, user)


def team(client: Membership) -> list[Membership]:
    """The therapists currently on the client's care team (active members, active accounts),
    in the order they joined it."""
    return [
        m.therapist
        for m in CareTeamMember.objects.select_related("therapist__user")
        .filter(
            client=client,
            removed_at__isnull=True,
            therapist__role=Role.THERAPIST,
            therapist__removed_at__isnull=True,
            therapist__user__is_active=True,
        )
        .order_by("added_at")
    ]


def participants(conversation: Conversation) -> set[UUID]:
    """The user ids of the conversation's participants now: the client (while a member) and
    the therapists on the care team (active members with active accounts)."""
    client_id = _db(conversation.client_id)
    with connection.cursor() as cursor:
        cursor.execute(_sql(_PARTICIPANTS_SQL), [client_id, client_id, Role.THERAPIST.value, True])
        return {UUID(str(row[0])) for row in cursor.fetchall()}
