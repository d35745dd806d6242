"""Who may take part in a client's conversation (docs/api/messaging.md, "Conversations").

`conversation_for` is the one access decision for every conversation endpoint and frame: the
client themself, or a therapist currently on the client's care team. Owners and admins are not
participants because of their role: they see metadata elsewhere, never messages. Anyone else,
and an unknown id, gets None (the API's 404) and a `denied` audit event naming the client when
the client exists, so insider snooping shows up in the practice's review.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from django.db import IntegrityError, transaction

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


def _participant_actor(user: User, client: Membership) -> Membership | None:
    if client.user_id == user.pk:
        return client
    member = (
        CareTeamMember.objects.select_related("therapist")
        .filter(
            client=client,
            removed_at__isnull=True,
            therapist__user=user,
            therapist__role=Role.THERAPIST,
            therapist__removed_at__isnull=True,
        )
        .first()
    )
    return member.therapist if member else None


def _conversation(client: Membership) -> Conversation:
    """The client's conversation, made on first use (two first uses may race: one insert wins)."""
    found = Conversation.objects.filter(client=client).first()
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
        Membership.objects.select_related("practice", "user")
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
    """The user ids of the conversation's participants now: the client and the current team."""
    team_ids = CareTeamMember.objects.filter(
        client_id=conversation.client_id,
        removed_at__isnull=True,
        therapist__role=Role.THERAPIST,
        therapist__removed_at__isnull=True,
        therapist__user__is_active=True,
    ).values_list("therapist__user_id", flat=True)
    client = Membership.objects.filter(
        pk=conversation.client_id, removed_at__isnull=True
    ).values_list("user_id", flat=True)
    return set(team_ids) | set(client)
