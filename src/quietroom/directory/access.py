"""Who may read which part of a practice's key directory (docs/api/keys.md "Directory").

Public keys are not secret, but who is a member of a practice, and in particular who is a
client, is: so the directory follows the same "need to know" as the records. Every answer for
someone who may not see is None (the API turns it into the same 404 as "does not exist").
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Q, QuerySet

from quietroom.accounts.models import User
from quietroom.audit.services import Origin, record_denied, record_event
from quietroom.directory import services
from quietroom.directory.models import MemberCertificate, MemberRevocationRecord
from quietroom.keys.models import AccountKeys, AekBind, DeviceListVersion
from quietroom.practices.models import CareTeamMember, Membership, Practice, Role


def acting_membership(user: User, practice_id: UUID) -> Membership | None:
    """The caller's active membership in the practice; a removed member gets None for all."""
    if not user.is_active:
        return None
    return (
        Membership.objects.select_related("practice", "user")
        .filter(practice_id=practice_id, user=user, removed_at__isnull=True)
        .first()
    )


def visible_members(actor: Membership) -> QuerySet[Membership]:
    """Owners and admins see every member; therapists the staff and the clients on their care
    team; clients themselves, their care team (former members too, so that what they wrote
    stays verifiable) and the owners and admins. Removed members stay listed (marked removed):
    their old signatures must still be checkable."""
    members = Membership.objects.filter(practice_id=actor.practice_id)
    if actor.role in services.ADMIN_ROLES:
        rule = Q()
    elif actor.role == Role.THERAPIST:
        team = CareTeamMember.objects.filter(therapist=actor, removed_at__isnull=True)
        rule = Q(role__in=[Role.OWNER, Role.ADMIN, Role.THERAPIST]) | Q(
            pk__in=team.values("client_id")
        )
    else:
        team = CareTeamMember.objects.filter(client=actor)
        rule = (
            Q(pk=actor.pk)
            | Q(role__in=[Role.OWNER, Role.ADMIN])
            | Q(pk__in=team.values("therapist_id"))
        )
    return members.filter(rule).select_related("user").order_by("created_at")


@dataclass(frozen=True)
class DirectoryView:
    entries: list[dict[str, Any]]
    issuers: list[dict[str, Any]]


def _entry(member: Membership) -> dict[str, Any]:
    keys = AccountKeys.objects.filter(user_id=member.user_id).first()
    certs = MemberCertificate.objects.filter(
        practice_id=member.practice_id, user_id=member.user_id
    ).order_by("id")
    revocations = MemberRevocationRecord.objects.filter(
        practice_id=member.practice_id, user_id=member.user_id
    ).order_by("id")
    binds = AekBind.objects.filter(user_id=member.user_id).order_by("id")
    lists = DeviceListVersion.objects.filter(user_id=member.user_id).order_by("seq")
    return {
        "user_id": member.user_id,
        "display_name": member.user.display_name,
        "role": member.role,
        "removed": member.removed_at is not None,
        "aik_pub": keys.aik_pub if keys is not None else None,
        "certs": [services.envelope_obj(c.envelope) for c in certs],
        "revocations": [services.envelope_obj(r.envelope) for r in revocations],
        "aek_binds": [services.envelope_obj(b.envelope) for b in binds],
        "device_lists": [services.envelope_obj(d.envelope) for d in lists],
    }


def _issuers(practice: Practice, members: list[Membership]) -> list[dict[str, Any]]:
    """The PRSK-issued certificates of the therapists whose AIKs issued the entries' member
    certificates, so a reader can check the two-deep chain (§6.3) from this one answer."""
    issuer_ids = set(
        MemberCertificate.objects.filter(
            practice=practice, user_id__in=[m.user_id for m in members], issuer_kind="member"
        ).values_list("issuer_key_id", flat=True)
    )
    if not issuer_ids:
        return []
    rows = MemberCertificate.objects.filter(
        practice=practice, aik_id__in=issuer_ids, issuer_kind="prsk"
    ).order_by("id")
    return [services.envelope_obj(r.envelope) for r in rows]


def _deny(user: User, practice_id: UUID, origin: Origin) -> None:
    practice = Practice.objects.filter(pk=practice_id).first()
    record_denied(
        action="directory.read",
        actor=user,
        practice=practice,
        object_type="directory",
        object_id=str(practice_id),
        origin=origin,
    )


def read_directory(
    user: User, practice_id: UUID, user_ids: list[UUID] | None, origin: Origin
) -> DirectoryView | None:
    """The one way to read directory entries. `user_ids` None or empty: everyone the caller
    may see. If any requested person is not visible (or does not exist), nothing is answered."""
    actor = acting_membership(user, practice_id)
    if actor is None:
        _deny(user, practice_id, origin)
        return None
    visible = visible_members(actor)
    if user_ids:
        wanted = set(user_ids)
        members = list(visible.filter(user_id__in=wanted))
        if {m.user_id for m in members} != wanted:
            _deny(user, practice_id, origin)
            return None
    else:
        members = list(visible)
    with transaction.atomic():  # the read and its audit rows are one unit (AUD-04)
        view = DirectoryView(
            entries=[_entry(m) for m in members],
            issuers=_issuers(actor.practice, members),
        )
        others = [m for m in members if m.pk != actor.pk]
        # One row per client whose entry was read (it shows in that client's access history),
        # and one for the staff entries together.
        for member in others:
            if member.role == Role.CLIENT:
                record_event(
                    action="directory.read",
                    actor=user,
                    actor_role=actor.role,
                    practice=actor.practice,
                    client=member,
                    object_type="directory_entry",
                    object_id=str(member.user_id),
                    origin=origin,
                )
        staff = [m for m in others if m.role != Role.CLIENT]
        if staff:
            record_event(
                action="directory.read",
                actor=user,
                actor_role=actor.role,
                practice=actor.practice,
                object_type="directory",
                object_id=str(staff[0].user_id) if len(staff) == 1 else "",
                reason=f"staff entries: {len(staff)}",
                origin=origin,
            )
    return view


def pending_for(user: User, practice_id: UUID) -> list[services.Pending] | None:
    """Members waiting for a certificate: owners and admins see all, therapists their caseload's
    clients, anyone else nothing (None)."""
    actor = acting_membership(user, practice_id)
    if actor is None:
        return None
    if actor.role in services.ADMIN_ROLES:
        members = list(Membership.objects.filter(practice=actor.practice).select_related("user"))
    elif actor.role == Role.THERAPIST:
        team = CareTeamMember.objects.filter(therapist=actor, removed_at__isnull=True)
        members = list(
            Membership.objects.filter(pk__in=team.values("client_id")).select_related("user")
        )
    else:
        return None
    return services.pending_certificates(members, actor.practice)


def configs_for(user: User, practice_id: UUID) -> list[dict[str, Any]] | None:
    actor = acting_membership(user, practice_id)
    if actor is None:
        return None
    return services.config_envelopes(actor.practice)
