"""Who may take part in a client's conversation (docs/api/messaging.md, "Conversations").

`conversation_for` is the one access decision for every conversation endpoint and frame: the
client themself, or a therapist currently on the client's care team. Owners and admins are not
participants because of their role: they see metadata elsewhere, never messages. Anyone else,
and an unknown id, gets None (the API's 404) and a `denied` audit event naming the client when
the client exists, so insider snooping shows up in the practice's review.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from uuid import UUID

from django.db import IntegrityError, connection, models, transaction

from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_denied
from quietroom.core.rows import db_uuid
from quietroom.messaging.models import Conversation
from quietroom.practices.access import client_for_audit
from quietroom.practices.models import CareTeamMember, Membership, Practice, Role

_M = TypeVar("_M", bound=models.Model)


@dataclass(frozen=True)
class ConversationAccess:
    conversation: Conversation
    client: Membership  # whose conversation (practice and user loaded)
    actor: Membership  # the caller's membership: the client's own, or a care-team therapist's
    user: User

    @property
    def role(self) -> str:
        return "client" if self.actor.pk == self.client.pk else "therapist"


# Access is decided on every request and every stored item; these two queries are written by
# hand because the ORM's compilation of their joins costs more than running them.
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


def _columns(model: type[models.Model], alias: str) -> list[str]:
    qn = connection.ops.quote_name
    return [f"{alias}.{qn(f.column)}" for f in model._meta.concrete_fields]  # noqa: SLF001


def _converters(model: type[models.Model]) -> list[tuple[Any, list[Any]]]:
    """Each concrete field's column expression and database converters, as the ORM's compiler
    finds them (a foreign key's column converts as its target field)."""
    out = []
    for field in model._meta.concrete_fields:  # noqa: SLF001
        col = field.get_col(model._meta.db_table)  # noqa: SLF001
        out.append((col, connection.ops.get_db_converters(col) + col.get_db_converters(connection)))
    return out


def _instance(model: type[_M], values: Sequence[Any]) -> _M:
    """A model instance from its columns as `_columns` selected them, through the same
    database converters the ORM applies (UUIDs, datetimes, booleans on SQLite)."""
    converted = []
    for (col, converters), raw in zip(_converters(model), values, strict=True):
        value = raw
        for convert in converters:
            value = convert(value, col, connection)
        converted.append(value)
    fields = model._meta.concrete_fields  # noqa: SLF001
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def _client_sql() -> tuple[str, tuple[int, int, int, int]]:
    """The client's membership, practice, account and conversation (if made yet), and the
    caller's care-team membership on it (if any): one query for the whole decision."""
    parts = [
        _columns(Membership, "m"),
        _columns(Practice, "p"),
        _columns(User, "u"),
        _columns(Conversation, "c"),
    ]
    actor = (
        "(SELECT t.id FROM {team} ct JOIN {members} t ON t.id = ct.therapist_id"
        " WHERE ct.client_id = m.id AND ct.removed_at IS NULL AND t.user_id = %s"
        " AND t.role = %s AND t.removed_at IS NULL LIMIT 1)"
    )
    sql = (
        f"SELECT {', '.join(c for part in parts for c in part)}, {actor}"  # noqa: S608
        " FROM {members} m JOIN {practices} p ON p.id = m.practice_id"
        " JOIN {users} u ON u.id = m.user_id"
        " LEFT JOIN {conversations} c ON c.client_id = m.id"
        " WHERE m.id = %s AND m.role = %s AND m.removed_at IS NULL"
    )
    # `_meta` is Django's documented model metadata API, not a private member.
    sql = sql.format(
        team=CareTeamMember._meta.db_table,  # noqa: SLF001
        members=Membership._meta.db_table,  # noqa: SLF001
        practices=Practice._meta.db_table,  # noqa: SLF001
        users=User._meta.db_table,  # noqa: SLF001
        conversations=Conversation._meta.db_table,  # noqa: SLF001
    )
    counts = tuple(len(part) for part in parts)
    return sql, (counts[0], counts[1], counts[2], counts[3])


_CLIENT_SQL: tuple[str, tuple[int, int, int, int]] | None = None


def _load_client(user: User, client_id: UUID) -> tuple[Membership, Membership | None] | None:
    """(The client's membership with practice, user and conversation loaded; the caller's
    actor membership on it or None), or None if there is no such current client."""
    global _CLIENT_SQL  # noqa: PLW0603 - built once per process (the models never change)
    if _CLIENT_SQL is None:
        _CLIENT_SQL = _client_sql()
    sql, (nm, np, nu, nc) = _CLIENT_SQL
    params = [db_uuid(user.pk), Role.THERAPIST.value, db_uuid(client_id), Role.CLIENT.value]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None
    client = _instance(Membership, row[:nm])
    client.practice = _instance(Practice, row[nm : nm + np])
    client.user = _instance(User, row[nm + np : nm + np + nu])
    conv_values = row[nm + np + nu : nm + np + nu + nc]
    conversation: Conversation | None = None
    if conv_values[0] is not None:
        conversation = _instance(Conversation, conv_values)
        conversation.client = client
    # As select_related would: a conversation not made yet is cached as None (no query).
    Membership.conversation.related.set_cached_value(client, conversation)
    actor_id = row[nm + np + nu + nc]
    if client.user_id == user.pk:
        return client, client
    if actor_id is None:
        return client, None
    # Only the id and role are read from the actor (audit rows); no second query for the rest.
    actor = Membership(
        id=UUID(str(actor_id)), practice_id=client.practice_id, user=user, role=Role.THERAPIST
    )
    return client, actor


def _conversation(client: Membership) -> Conversation:
    """The client's conversation, made on first use (two first uses may race: one insert wins)."""
    # The reverse one-to-one was loaded with the client (`_load_client`) when it exists.
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
    loaded = _load_client(user, client_id)
    if loaded is None:
        return None
    client, actor = loaded
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
    client_id = db_uuid(conversation.client_id)
    with connection.cursor() as cursor:
        cursor.execute(_sql(_PARTICIPANTS_SQL), [client_id, client_id, Role.THERAPIST.value, True])
        return {UUID(str(row[0])) for row in cursor.fetchall()}
