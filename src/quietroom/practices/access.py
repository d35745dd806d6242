"""The one place that answers "in which practice, in which role, may this person act?", and
"may this person open this client's record?".

"Not yours" and "does not exist" give the same answer (None), which the API turns into 404:
the existence of a client record is itself confidential.
"""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from quietroom.accounts.models import User
from quietroom.practices.models import CareTeamMember, Membership, Role


def active_memberships(user: User) -> list[Membership]:
    if not user.is_active:
        return []
    return list(
        Membership.objects.select_related("practice")
        .filter(user=user, removed_at__isnull=True)
        .order_by("created_at")
    )


@dataclass(frozen=True)
class ClientAccess:
    client: Membership  # whose record
    actor: Membership  # the caller's membership in the client's practice


def access_client_by_id(user: User, client_id: UUID) -> ClientAccess | None:
    if not user.is_active:
        return None
    client = (
        Membership.objects.select_related("practice", "user")
        .filter(pk=client_id, role=Role.CLIENT)
        .first()
    )
    if client is None:
        return None
    actor = Membership.objects.filter(
        practice=client.practice, user=user, removed_at__isnull=True
    ).first()
    if actor is None:
        return None
    if actor.pk == client.pk:
        return ClientAccess(client, actor)  # the client's own record
    if actor.role in {Role.OWNER, Role.ADMIN}:
        return ClientAccess(client, actor)  # practice metadata (AC-04); never clinical items
    on_care_team = CareTeamMember.objects.filter(
        client=client, therapist=actor, removed_at__isnull=True
    ).exists()
    if actor.role == Role.THERAPIST and on_care_team:
        return ClientAccess(client, actor)
    return None


def caseload(user: User) -> list[Membership]:
    """The clients whose records this person may see as a therapist or practice admin."""
    memberships = active_memberships(user)
    admin_practices = [m.practice_id for m in memberships if m.role in {Role.OWNER, Role.ADMIN}]
    therapist_ids = [m.pk for m in memberships if m.role == Role.THERAPIST]
    from_admin = Membership.objects.filter(practice_id__in=admin_practices, role=Role.CLIENT)
    from_team = Membership.objects.filter(
        role=Role.CLIENT,
        care_team__therapist_id__in=therapist_ids,
        care_team__removed_at__isnull=True,
    )
    return list((from_admin | from_team).distinct().order_by("created_at"))


def client_for_audit(client_id: UUID) -> Membership | None:
    """The client a refused request aimed at, if it exists, for the audit row only: never
    use it to decide access or to answer the caller."""
    return (
        Membership.objects.select_related("practice").filter(pk=client_id, role=Role.CLIENT).first()
    )
