"""The conversation item store (docs/api/messaging.md, crypto-protocol §7.7, §7.9).

Every function takes a `ConversationAccess` from `quietroom.messaging.access.conversation_for`
(the one access decision) and writes its audit row in the same transaction. A refusal raises
`Refused` before anything is written; the API and the socket map it onto their answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from uuid import UUID

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Count,
    F,
    OuterRef,
    Q,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from quietroom.accounts.models import User
from quietroom.audit.services import Origin, lock_chain, record_event
from quietroom.core import background
from quietroom.core.rows import db_datetime, db_uuid, insert_row, insert_rows
from quietroom.crypto import envelope
from quietroom.crypto.encoding import NIL_UUID, b64url_decode, b64url_encode, sha256
from quietroom.crypto.errors import CryptoError, NotRecipientError, SchemaError
from quietroom.crypto.items import Header, Recipient
from quietroom.crypto.keys import kid
from quietroom.crypto.practice import Directory
from quietroom.crypto.server_checks import UploadContext, check_decoded_item, check_grant_upload
from quietroom.directory.models import (
    MemberCertificate,
    MemberRevocationRecord,
    PracticeConfigVersion,
)
from quietroom.directory.services import DirectoryRefused, crypto_directory
from quietroom.keys.models import AekBind
from quietroom.messaging import blobs, notifications, realtime
from quietroom.messaging.access import ConversationAccess, participants, team
from quietroom.messaging.models import (
    Blob,
    Conversation,
    ConversationItem,
    ItemGrant,
    ItemWrap,
    MessagingSettings,
    ReadState,
)
from quietroom.practices.models import Membership, Practice, Role

# The item types of a conversation and the body each must have (docs/api/messaging.md).
BODY_OF_TYPE: Final = {"message": "inline", "file": "stream"}
ITEMS_LIMIT_MAX: Final = 200
GRANTS_MAX: Final = 200
NEEDED_MAX: Final = 200


class Refused(Exception):  # noqa: N818 - a refusal, not a fault
    """A request the store will not carry out; nothing was written. `code` is the error code
    of the answer: a protocol code (`E_SCHEMA`, …) for a refused item, else `bad_request`,
    `not_found` or `conflict`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    @classmethod
    def of(cls, exc: CryptoError) -> Refused:
        return cls(400, exc.code, f"The item was refused: {exc.message}.")


@dataclass(frozen=True)
class Ack:
    seq: int
    item_id: UUID
    received_at: int  # ms since the epoch

    def as_json(self) -> dict[str, Any]:
        return {"seq": self.seq, "item_id": str(self.item_id), "received_at": self.received_at}


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- the verified directory, cached per practice -------------------------------------------------

# Verifying every certificate on every upload would dominate the hot path. The cache is keyed by
# the newest config, certificate and revocation row ids (rows are only ever added), so any change
# to the directory is a different key and is never served from an older entry.
_directory_lock = threading.Lock()
_directories: dict[UUID, tuple[tuple[int, int, int], Directory, bytes]] = {}


def _directory_version(practice_id: UUID) -> tuple[int, str, int | None, int | None] | None:
    """(newest config row id, its prk_id, newest certificate and revocation row ids): one
    hand-written query, because this runs for every stored item and the ORM's compilation of
    the same query costs more than the query itself."""
    pid = db_uuid(practice_id)
    # `_meta` is Django's documented model metadata API, not a private member.
    configs = PracticeConfigVersion._meta.db_table  # noqa: SLF001
    certs = MemberCertificate._meta.db_table  # noqa: SLF001
    revocations = MemberRevocationRecord._meta.db_table  # noqa: SLF001
    sql = (
        f"SELECT c.id, c.prk_id,"  # noqa: S608 - table names from the models, values bound
        f" (SELECT MAX(id) FROM {certs} WHERE practice_id = %s),"
        f" (SELECT MAX(id) FROM {revocations} WHERE practice_id = %s)"
        f" FROM {configs} c WHERE c.practice_id = %s ORDER BY c.seq DESC LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [pid, pid, pid])
        row = cursor.fetchone()
    return (row[0], row[1], row[2], row[3]) if row else None


def practice_directory(practice: Practice) -> tuple[Directory, bytes]:
    """The practice's verified `Directory` and the key id of its current PRK."""
    newest = _directory_version(practice.pk)
    if newest is None:
        raise Refused(400, "bad_request", "This practice has no signed configuration yet.")
    key = (newest[0], newest[2] or 0, newest[3] or 0)
    with _directory_lock:
        cached = _directories.get(practice.pk)
    if cached is not None and cached[0] == key:
        return cached[1], cached[2]
    try:
        directory = crypto_directory(practice)
    except DirectoryRefused as exc:
        raise Refused(400, "bad_request", exc.message) from None
    prk_id = b64url_decode(newest[1], 16)
    with _directory_lock:
        _directories[practice.pk] = (key, directory, prk_id)
    return directory, prk_id


# An aek_bind envelope always names the same key: cache the key id by the envelope text (not by
# row id, which a rolled-back insert can hand out again).
_aek_ids: dict[str, bytes] = {}


def current_aek_ids(user_ids: Iterable[UUID]) -> dict[UUID, bytes]:
    """Each user's current AEK key id: the one their newest aek_bind names."""
    out: dict[UUID, bytes] = {}
    ids = [db_uuid(u) for u in user_ids]
    if not ids:
        return out
    # Hand-written for the hot path (see _directory_version).
    sql = (
        f"SELECT user_id, envelope FROM {AekBind._meta.db_table}"  # noqa: S608, SLF001
        f" WHERE user_id IN ({', '.join(['%s'] * len(ids))}) ORDER BY ver DESC, id DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, ids)
        rows = cursor.fetchall()
    for raw_user_id, text in rows:
        user_id = UUID(str(raw_user_id))
        if user_id in out:
            continue
        key_id = _aek_ids.get(text)
        if key_id is None:
            bind = envelope.decode_aek_bind_obj(envelope.loads(text.encode("utf-8")))
            key_id = kid("x25519", bind.aek_pub)
            if len(_aek_ids) > 100_000:
                _aek_ids.clear()
            _aek_ids[text] = key_id
        out[user_id] = key_id
    return out


# -- storing an item -----------------------------------------------------------------------------


def _check_conversation_rules(
    access: ConversationAccess, hdr: Header, members: set[UUID], aek_ids: dict[UUID, bytes]
) -> None:
    """The rules of a conversation on top of §7.7 (docs/api/messaging.md)."""
    if hdr.chart_id != access.client.pk or hdr.thread_id != NIL_UUID:
        raise SchemaError("chart_id must be the client and thread_id nil")
    if BODY_OF_TYPE.get(hdr.type) != hdr.body.kind:
        raise SchemaError("a conversation takes message items (inline) and file items (stream)")
    if hdr.revision != 0:
        raise SchemaError("conversation items are not revised")
    users = {r.id: r.key_id for r in hdr.recipients if r.kind == "user"}
    if access.client.user_id not in users or access.user.pk not in users:
        raise NotRecipientError("the client and the author must be recipients")
    for user_id, key_id in users.items():
        if user_id not in members:
            raise NotRecipientError("a recipient is not in this conversation")
        if aek_ids.get(user_id) != key_id:
            raise SchemaError("a recipient's key is not their current AEK")


def _ack_of(row: ConversationItem) -> Ack:
    return Ack(row.seq, row.item_id, ms(row.received_at))


def _existing_item(item_id: UUID) -> ConversationItem | None:
    """The stored item with this id, if any: almost always none, which one hand-written
    query answers; a retry loads the row."""
    sql = f"SELECT id FROM {ConversationItem._meta.db_table} WHERE item_id = %s"  # noqa: S608, SLF001
    with connection.cursor() as cursor:
        cursor.execute(sql, [db_uuid(item_id)])
        row = cursor.fetchone()
    return None if row is None else ConversationItem.objects.get(pk=row[0])


def _take_seq(conversation_id: UUID, moment: datetime) -> int:
    """Bumps the conversation's last_seq, stamps its last activity and returns the seq: one
    hand-written statement that is both the row lock (held to commit) and the next seq."""
    sql = (
        f"UPDATE {Conversation._meta.db_table}"  # noqa: S608, SLF001
        " SET last_seq = last_seq + 1, last_activity_at = %s WHERE id = %s RETURNING last_seq"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [db_datetime(moment), db_uuid(conversation_id)],
        )
        row = cursor.fetchone()
    if row is None:  # the conversation is never deleted while its client's access holds
        raise Refused(404, "not_found", "Nothing was found here.")
    return int(row[0])


def store_item(
    access: ConversationAccess, data: bytes, origin: Origin | None, *, savepoint: bool = True
) -> tuple[Ack, bool]:
    """Checks and stores one item upload; (its Ack, whether it was stored now). A retry with the
    same upload answers the first Ack; another upload under a used item_id is a conflict.
    `savepoint=False`: the caller's own transaction or savepoint holds only this item and is
    rolled back with a refusal (the item writer), so this one need not make another."""
    try:
        item = envelope.decode(data)
    except CryptoError as exc:
        raise Refused.of(exc) from None
    # The hash of the canonical re-encoding, so a retry over HTTP or the socket matches whatever
    # the key order or spacing of the first attempt.
    upload_sha256 = sha256(envelope.dumps(envelope.encode_item(item))).hex()
    practice = access.client.practice
    conversation = access.conversation
    with transaction.atomic(savepoint=savepoint):
        lock_chain()  # before any row lock (quietroom.audit.services.lock_chain)
        # After the chain lock, which every item store holds to its commit (and SQLite's write
        # lock, taken at BEGIN): received_at grows with seq.
        received_at = timezone.now()
        # Taking the next seq locks the conversation row until commit: items are numbered in
        # the order they commit, and a retry racing its first attempt waits here.
        seq = _take_seq(conversation.pk, received_at)
        existing = _existing_item(item.hdr.item_id)
        if existing is not None:
            if existing.conversation_id == conversation.pk and existing.upload_sha256 == (
                upload_sha256
            ):
                transaction.set_rollback(True)  # give the seq back: nothing was stored
                return _ack_of(existing), False
            raise Refused(409, "conflict", "Another item already has this item_id.")
        directory, prk_id = practice_directory(practice)
        members = participants(conversation)
        user_ids = {r.id for r in item.hdr.recipients if r.kind == "user"} & members
        aek_ids = current_aek_ids(user_ids)
        found: tuple[Blob, Any] | None = None
        if item.blob_id is not None:
            found = blobs.blob_for_attach(conversation, item.blob_id, access.user)

        def allowed(_hdr: Header, recipient: Recipient) -> bool:
            return recipient.id in members

        ctx = UploadContext(
            practice_id=practice.pk,
            uploader_user_id=access.user.pk,
            directory=directory,
            current_prk_id=prk_id,
            now=now_ms(),
            blob=found[1] if found else None,
            blob_max=blobs.max_length(),
            recipient_policy=allowed,
        )
        try:
            # `item` is `envelope.decode(data)` from above: not decoded a second time.
            checked = check_decoded_item(item, ctx)
            _check_conversation_rules(access, checked.hdr, members, aek_ids)
        except CryptoError as exc:
            raise Refused.of(exc) from None
        # Hand-written inserts (quietroom.core.rows): this runs for every message.
        row_id = insert_row(
            ConversationItem,
            {
                "conversation_id": conversation.pk,
                "seq": seq,
                "item_id": checked.hdr.item_id,
                "type": checked.hdr.type,
                "author_id": access.user.pk,
                "header": envelope.dumps(envelope.encode_header(checked.hdr)).decode("utf-8"),
                "body_ct": b64url_encode(checked.body_ct) if checked.body_ct is not None else "",
                "blob_id": found[0].pk if found else None,
                "sig": b64url_encode(checked.sig),
                "upload_sha256": upload_sha256,
                "created_at_ms": checked.hdr.created_at,
                "received_at": received_at,
            },
        )
        insert_rows(
            ItemWrap,
            [
                {
                    "item_id": row_id,
                    "kind": w.kind,
                    "principal_id": w.id,
                    "key_id": b64url_encode(w.key_id),
                    "ct": b64url_encode(w.ct),
                }
                for w in checked.wraps
            ],
        )
        conversation.last_seq, conversation.last_activity_at = seq, received_at
        if found:
            blobs.mark_attached(found[0])
        record_event(
            action="conversation.item.created",
            actor=access.user,
            actor_role=access.actor.role,
            practice=practice,
            client=access.client,
            object_type="conversation_item",
            object_id=str(checked.hdr.item_id),
            origin=origin,
        )
        conversation_id, author_id = conversation.pk, access.user.pk
        client_user_id = access.client.user_id
        # Robust: the item is committed whatever happens next, so a failed push or email is
        # logged, never turned into an error answer that would make the sender retry. Both get
        # the participants read above under the lock rather than reading them again.
        transaction.on_commit(
            lambda: realtime.push_item(conversation, seq, checked, members=members), robust=True
        )
        # The email check (and any email) runs on the background thread when the item writer
        # stores this item, so a slow mail server holds up no other sender.
        transaction.on_commit(
            lambda: background.run_or_defer(
                lambda: notifications.notify_new_item(
                    conversation_id, seq, author_id, members=members, client_user_id=client_user_id
                )
            ),
            robust=True,
        )
    return Ack(seq, checked.hdr.item_id, ms(received_at)), True


# -- reading -------------------------------------------------------------------------------------


def _wrap_json(kind: str, principal_id: UUID, key_id: str, ct: str) -> dict[str, str]:
    return {"kind": kind, "id": str(principal_id), "key_id": key_id, "ct": ct}


def stored_json(
    row: ConversationItem, wraps: Sequence[dict[str, str]], grants: Sequence[str]
) -> dict[str, Any]:
    """`Stored` of the contract: the upload with only the caller's wraps, and their grants."""
    body: dict[str, str] = (
        {"blob_id": str(row.blob_id)} if row.blob_id is not None else {"ct": row.body_ct}
    )
    return {
        "seq": row.seq,
        "received_at": ms(row.received_at),
        "item": {
            "hdr": envelope.loads(row.header.encode("utf-8")),
            "body": body,
            "wraps": list(wraps),
            "sig": row.sig,
        },
        "grants": [envelope.loads(g.encode("utf-8")) for g in grants],
    }


def list_items(
    access: ConversationAccess, after: int, limit: int, origin: Origin | None
) -> dict[str, Any]:
    user = access.user
    with transaction.atomic():  # the read and its audit row are one unit (AUD-04)
        conversation = Conversation.objects.get(pk=access.conversation.pk)
        rows = list(
            ConversationItem.objects.filter(conversation=conversation, seq__gt=after).order_by(
                "seq"
            )[:limit]
        )
        ids = [r.pk for r in rows]
        wraps: dict[int, list[dict[str, str]]] = {}
        for item_pk, kind, principal, key_id, ct in ItemWrap.objects.filter(
            item_id__in=ids, kind="user", principal_id=user.pk
        ).values_list("item_id", "kind", "principal_id", "key_id", "ct"):
            wraps.setdefault(item_pk, []).append(_wrap_json(kind, principal, key_id, ct))
        grants: dict[int, list[str]] = {}
        for item_pk, text in ItemGrant.objects.filter(item_id__in=ids, grantee=user).values_list(
            "item_id", "envelope"
        ):
            grants.setdefault(item_pk, []).append(text)
        items = [stored_json(r, wraps.get(r.pk, []), grants.get(r.pk, [])) for r in rows]
        record_event(
            action="conversation.items.read",
            actor=user,
            actor_role=access.actor.role,
            practice=access.client.practice,
            client=access.client,
            object_type="conversation",
            object_id=str(access.client.pk),
            reason=f"after={after} count={len(items)}",
            origin=origin,
        )
    return {"items": items, "last_seq": conversation.last_seq}


def _participant(m: Membership, role: str) -> dict[str, Any]:
    return {"user_id": str(m.user_id), "display_name": m.user.display_name, "role": role}


def conversation_info(access: ConversationAccess, origin: Origin | None) -> dict[str, Any]:
    """`Conversation` of the contract. Audited `conversation.open`."""
    with transaction.atomic():
        conversation = Conversation.objects.get(pk=access.conversation.pk)
        read_seq = (
            ReadState.objects.filter(conversation=conversation, user=access.user)
            .values_list("last_read_seq", flat=True)
            .first()
        ) or 0
        crisis = (
            MessagingSettings.objects.filter(practice_id=access.client.practice_id)
            .values_list("crisis_resources", flat=True)
            .first()
        ) or ""
        out = {
            "client_id": str(access.client.pk),
            "practice_id": str(access.client.practice_id),
            "client": _participant(access.client, "client"),
            "team": [_participant(m, "therapist") for m in team(access.client)],
            "last_seq": conversation.last_seq,
            "read_seq": read_seq,
            "crisis_resources": crisis,
            "attachment_max_bytes": settings.CONFIG.attachment_max_mib * 1024 * 1024,
        }
        record_event(
            action="conversation.open",
            actor=access.user,
            actor_role=access.actor.role,
            practice=access.client.practice,
            client=access.client,
            object_type="conversation",
            object_id=str(access.client.pk),
            origin=origin,
        )
    return out


def mark_read(access: ConversationAccess, seq: int) -> None:
    """The caller has read up to `seq`; the mark never moves back. Not audited: no content."""
    with transaction.atomic():
        conversation = Conversation.objects.get(pk=access.conversation.pk)
        if seq > conversation.last_seq:
            raise Refused(400, "bad_request", "seq is past the newest item.")
        state, _ = ReadState.objects.get_or_create(conversation=conversation, user=access.user)
        moved = ReadState.objects.filter(pk=state.pk, last_read_seq__lt=seq).update(
            last_read_seq=seq
        )
        if moved:
            client_id, user_id = access.client.pk, access.user.pk
            transaction.on_commit(lambda: realtime.push_read(user_id, client_id, seq), robust=True)


def conversation_summaries(user: User) -> list[dict[str, Any]]:
    """The caller's conversations, most recent activity first (two queries)."""
    if not user.is_active:
        return []
    own = Q(user=user)
    cared_for = Q(
        care_team__removed_at__isnull=True,
        care_team__therapist__user=user,
        care_team__therapist__role=Role.THERAPIST,
        care_team__therapist__removed_at__isnull=True,
    )
    clients = list(
        Membership.objects.select_related("user")
        .filter(own | cared_for, role=Role.CLIENT, removed_at__isnull=True)
        .distinct()
    )
    read_seq = Coalesce(
        Subquery(
            ReadState.objects.filter(conversation=OuterRef("pk"), user=user).values(
                "last_read_seq"
            )[:1]
        ),
        Value(0),
    )
    convs = {
        c.client_id: c
        for c in Conversation.objects.filter(client__in=clients)
        .annotate(read_seq=read_seq)
        .annotate(
            unread=Count(
                "items",
                filter=Q(items__seq__gt=F("read_seq")) & ~Q(items__author=user),
            )
        )
    }
    out = []
    for client in clients:
        conv = convs.get(client.pk)
        out.append(
            {
                "client_id": str(client.pk),
                "practice_id": str(client.practice_id),
                "client_name": client.user.display_name,
                "last_seq": conv.last_seq if conv else 0,
                "last_activity_at": (
                    conv.last_activity_at.isoformat() if conv and conv.last_activity_at else None
                ),
                "unread": conv.unread if conv else 0,
            }
        )
    out.sort(key=lambda s: str(s["client_name"]))
    out.sort(key=lambda s: s["last_activity_at"] or "", reverse=True)  # stable: names stay A-Z
    return out


# -- grants (§7.9) -------------------------------------------------------------------------------


def _holds(item_pk: int, user_id: UUID) -> bool:
    return (
        ItemWrap.objects.filter(item_id=item_pk, kind="user", principal_id=user_id).exists()
        or ItemGrant.objects.filter(item_id=item_pk, grantee_id=user_id).exists()
    )


def store_grants(
    access: ConversationAccess, raw_grants: Sequence[object], origin: Origin | None
) -> int:
    """Checks and stores grants giving current participants earlier items; the number newly
    stored (a grant already held is not stored again). All or nothing."""
    if not raw_grants or len(raw_grants) > GRANTS_MAX:
        raise Refused(400, "bad_request", f"Send 1 to {GRANTS_MAX} grants.")
    stored = 0
    with transaction.atomic():
        lock_chain()  # before the conversation's row lock, as store_item
        conversation = Conversation.objects.select_for_update().get(pk=access.conversation.pk)
        directory, _ = practice_directory(access.client.practice)
        members = participants(conversation)
        try:
            grants = [envelope.decode_grant_obj(g) for g in raw_grants]
        except CryptoError as exc:
            raise Refused.of(exc) from None
        aek_ids = current_aek_ids({g.grantee_user_id for g in grants} & members)
        rows = {
            r.item_id: r
            for r in ConversationItem.objects.filter(
                conversation=conversation, item_id__in=[g.item_id for g in grants]
            )
        }
        for grant in grants:
            row = rows.get(grant.item_id)
            if row is None:
                raise Refused(400, "bad_request", "A grant names an item not in this conversation.")
            if grant.grantee_user_id not in members:
                raise Refused(400, NotRecipientError.code, "The grantee is not a participant.")
            try:
                check_grant_upload(
                    grant,
                    root=envelope.decode_header(envelope.loads(row.header.encode("utf-8"))),
                    directory=directory,
                    uploader_user_id=access.user.pk,
                    grantee_aek_id=aek_ids.get(grant.grantee_user_id, b""),
                    granter_is_principal=_holds(row.pk, access.user.pk),
                )
            except CryptoError as exc:
                raise Refused.of(exc) from None
            if _holds(row.pk, grant.grantee_user_id):
                continue
            ItemGrant.objects.create(
                item=row,
                grantee_id=grant.grantee_user_id,
                envelope=envelope.dumps(envelope.encode_grant(grant)).decode("utf-8"),
            )
            stored += 1
            record_event(
                action="conversation.grant.created",
                actor=access.user,
                actor_role=access.actor.role,
                practice=access.client.practice,
                client=access.client,
                object_type="conversation_item",
                object_id=str(grant.item_id),
                reason=f"grantee={grant.grantee_user_id}",
                origin=origin,
            )
    return stored


def grants_needed(access: ConversationAccess) -> list[dict[str, Any]]:
    """Items the caller can read that a current participant holds neither a wrap nor a grant
    for, oldest first (at most 200): what the caller's browser may grant."""
    conversation = access.conversation
    me = access.user.pk
    readable = ConversationItem.objects.filter(conversation=conversation).filter(
        Q(wraps__kind="user", wraps__principal_id=me) | Q(grants__grantee_id=me)
    )
    needed: list[dict[str, Any]] = []
    for user_id in sorted(participants(conversation) - {me}, key=str):
        wrapped = ItemWrap.objects.filter(kind="user", principal_id=user_id).values("item_id")
        granted = ItemGrant.objects.filter(grantee_id=user_id).values("item_id")
        for seq, item_id in (
            readable.exclude(pk__in=wrapped)
            .exclude(pk__in=granted)
            .distinct()
            .order_by("seq")
            .values_list("seq", "item_id")[:NEEDED_MAX]
        ):
            needed.append({"seq": seq, "item_id": str(item_id), "user_id": str(user_id)})
    needed.sort(key=lambda n: (n["seq"], n["user_id"]))
    return needed[:NEEDED_MAX]


__all__ = [
    "Ack",
    "Refused",
    "conversation_info",
    "conversation_summaries",
    "grants_needed",
    "list_items",
    "mark_read",
    "practice_directory",
    "store_grants",
    "store_item",
]
