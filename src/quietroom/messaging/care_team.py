"""Who is on a client's care team, changed by the practice's owners and admins.

Removing a therapist ends their access to the conversation at once and for good: in one
transaction their membership of the team ends and their wraps and grants on the client's items
are deleted (crypto-protocol §7.9), so neither the API nor a download can hand them a key again.
Their open sockets are told after commit.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from uuid import UUID

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.utils import timezone

from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_denied, record_event
from quietroom.messaging.models import ConversationItem, ItemGrant, ItemWrap
from quietroom.practices.access import client_for_audit
from quietroom.practices.models import CareTeamMember, Membership, Role
from quietroom.realtime.sessions import user_group

MANAGERS = (Role.OWNER, Role.ADMIN)


@dataclass(frozen=True)
class TeamAccess:
    client: Membership  # practice loaded
    actor: Membership  # the caller: an active owner or admin of the client's practice


class Added(Enum):
    ADDED = "added"
    NOT_A_THERAPIST = "not_a_therapist"
    ALREADY = "already"


def team_access(user: User, client_id: UUID, *, action: str, origin: Origin) -> TeamAccess | None:
    """The one access decision for care-team changes; refusals are audited as `action`."""
    client = (
        Membership.objects.select_related("practice")
        .filter(pk=client_id, role=Role.CLIENT, removed_at__isnull=True)
        .first()
    )
    actor = None
    if client is not None and user.is_active:
        actor = Membership.objects.filter(
            practice_id=client.practice_id, user=user, removed_at__isnull=True, role__in=MANAGERS
        ).first()
    if client is None or actor is None:
        target = client_for_audit(client_id)
        record_denied(
            action=action,
            actor=user,
            practice=target.practice if target else None,
            client=target,
            object_type="care_team",
            object_id=str(client_id),
            origin=origin,
        )
        return None
    return TeamAccess(client, actor)


def _audit(
    access: TeamAccess,
    action: str,
    user: User,
    therapist_user_id: UUID,
    origin: Origin,
    *,
    reason: str = "",
) -> None:
    record_event(
        action=action,
        actor=user,
        actor_role=access.actor.role,
        practice=access.client.practice,
        client=access.client,
        object_type="user",
        object_id=str(therapist_user_id),
        reason=reason,
        origin=origin,
    )


def add_therapist(access: TeamAccess, user: User, therapist_user_id: UUID, origin: Origin) -> Added:
    with transaction.atomic():
        therapist = Membership.objects.filter(
            practice_id=access.client.practice_id,
            user_id=therapist_user_id,
            user__is_active=True,
            role=Role.THERAPIST,
            removed_at__isnull=True,
        ).first()
        if therapist is None:
            return Added.NOT_A_THERAPIST
        if CareTeamMember.objects.filter(
            client=access.client, therapist=therapist, removed_at__isnull=True
        ).exists():
            return Added.ALREADY
        CareTeamMember.objects.create(client=access.client, therapist=therapist)
        _audit(access, "care_team.added", user, therapist_user_id, origin)
    return Added.ADDED


def remove_therapist(
    access: TeamAccess, user: User, therapist_user_id: UUID, origin: Origin
) -> bool:
    """False if the therapist is not on the team (nothing changed)."""
    with transaction.atomic():
        member = (
            CareTeamMember.objects.select_for_update()
            .filter(
                client=access.client,
                therapist__user_id=therapist_user_id,
                removed_at__isnull=True,
            )
            .first()
        )
        if member is None:
            return False
        member.removed_at = timezone.now()
        member.save(update_fields=["removed_at"])
        items = ConversationItem.objects.filter(conversation__client=access.client).values("id")
        wraps, _ = ItemWrap.objects.filter(
            item_id__in=items, kind="user", principal_id=therapist_user_id
        ).delete()
        grants, _ = ItemGrant.objects.filter(
            item_id__in=items, grantee_id=therapist_user_id
        ).delete()
        _audit(
            access,
            "care_team.removed",
            user,
            therapist_user_id,
            origin,
            reason=f"wraps={wraps} grants={grants}",
        )
        client_id = access.client.pk
        transaction.on_commit(lambda: close_conversation(therapist_user_id, client_id))
    return True


def close_conversation(user_id: UUID, client_id: UUID) -> None:
    """Tells every socket of `user_id` that they left `client_id`'s conversation; the socket
    consumer turns it into the `conversation.closed` frame."""
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(
            user_group(user_id), {"type": "messaging.closed", "client_id": str(client_id)}
        )
