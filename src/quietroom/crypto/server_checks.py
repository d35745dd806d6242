"""Server-side structural checks before anything is stored (crypto-protocol.md §7.7, §13.1).

The server cannot open anything, but it can refuse what is malformed, unsigned, not wrapped to
the practice's recovery key, or claimed by someone other than the uploader. Each function raises
a :class:`~quietroom.crypto.errors.CryptoError` (the API answers 400 and writes nothing) or
returns the decoded object to store.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Final

from quietroom.crypto import envelope, stream
from quietroom.crypto.account import AekBind, verify_aek_bind
from quietroom.crypto.chain import check_genesis, check_link
from quietroom.crypto.devices import DeviceList, check_successor
from quietroom.crypto.encoding import check_uuid7, sha256
from quietroom.crypto.errors import (
    CertError,
    ChainError,
    NotRecipientError,
    SchemaError,
)
from quietroom.crypto.items import (
    INLINE_MAX,
    Grant,
    Header,
    Item,
    Recipient,
    Wrap,
    check_revision_link,
    sig_message,
)
from quietroom.crypto.keys import NONCE_LEN, TAG_LEN, WRAP_LEN, kid, verify
from quietroom.crypto.practice import (
    Directory,
    MemberCert,
    MemberRevocation,
    PracticeConfig,
    verify_config,
    verify_revocation,
)

HEADER_MAX: Final = 16 * 1024
RECIPIENTS_MAX: Final = 64
REVISIONS_MAX: Final = 1000
DEFAULT_BLOB_MAX: Final = 100 * 1024 * 1024

RecipientPolicy = Callable[[Header, Recipient], bool]
"""Whether policy allows this user recipient (e.g. never the client on a psychotherapy note)."""


def allow_all(_hdr: Header, _recipient: Recipient) -> bool:
    return True


def no_client_on_psychotherapy_notes(client_ids: frozenset[uuid.UUID]) -> RecipientPolicy:
    """§7.8: the client MUST NOT be a recipient of a psychotherapy note."""

    def policy(hdr: Header, recipient: Recipient) -> bool:
        return not (hdr.type == "psychotherapy-note" and recipient.id in client_ids)

    return policy


@dataclass(frozen=True, slots=True)
class StoredBlob:
    """What the server knows about an uploaded, not yet attached stream blob."""

    blob_id: uuid.UUID
    uploader_user_id: uuid.UUID
    length: int
    sha256: bytes
    attached: bool = False


@dataclass(slots=True)
class UploadContext:
    practice_id: uuid.UUID
    uploader_user_id: uuid.UUID
    directory: Directory  # the practice's verified certificates and revocations
    current_prk_id: bytes  # KID of the PRK in the newest config
    now: int
    chain: Sequence[Item] = ()  # stored revisions of this item, empty for a new item
    item_exists: bool = False
    blob: StoredBlob | None = None
    blob_max: int = DEFAULT_BLOB_MAX
    recipient_policy: RecipientPolicy = field(default=allow_all)


def check_item_upload(data: bytes, ctx: UploadContext) -> Item:
    """All of §7.7 for one uploaded revision; returns the decoded item to store."""
    return check_decoded_item(envelope.decode(data), ctx)


def check_decoded_item(item: Item, ctx: UploadContext) -> Item:
    """`check_item_upload` for an upload the caller already decoded with `envelope.decode`
    (the decoder's own checks are part of §7.7: pass only what it returned)."""
    hdr = item.hdr
    if len(envelope.dumps(envelope.encode_header(hdr))) > HEADER_MAX:
        raise SchemaError("header over 16 KiB")
    if hdr.practice_id != ctx.practice_id:
        raise CertError("item for another practice")
    if hdr.author_user_id != ctx.uploader_user_id:
        raise CertError("author is not the uploader")
    # The uploader's *current* certified AIK: a revoked or superseded key cannot upload.
    cert = ctx.directory.certified_aik(hdr.author_user_id, hdr.author_aik_id, at=ctx.now)
    _check_recipients(hdr, ctx)
    if hdr.revision == 0:
        check_uuid7(hdr.item_id)
        if ctx.item_exists or ctx.chain:
            raise ChainError("item_id already exists")
        _check_wraps(hdr.recipients, item.wraps)
    else:
        if item.wraps:
            raise SchemaError("revisions reuse the item's wraps and carry none")
        if len(ctx.chain) != hdr.revision or hdr.revision >= REVISIONS_MAX:
            raise ChainError("revision does not follow the stored chain")
        check_revision_link(ctx.chain[-1].hdr, hdr)
    body_hash = _check_body(item, ctx)
    verify(cert.aik_pub, item.sig, sig_message(hdr.hash(), body_hash))
    return item


def _check_recipients(hdr: Header, ctx: UploadContext) -> None:
    if len(hdr.recipients) > RECIPIENTS_MAX:
        raise SchemaError("more than 64 recipients")
    prk = [r for r in hdr.recipients if r.kind == "prk"]
    # The decoder already requires exactly one prk entry; here it must be this practice's
    # current PRK, so every item stays recoverable (ENC-05).
    if prk[0].id != ctx.practice_id or prk[0].key_id != ctx.current_prk_id:
        raise SchemaError("the prk recipient is not the practice's current PRK")
    for recipient in hdr.recipients:
        if recipient.kind == "user" and not ctx.recipient_policy(hdr, recipient):
            raise NotRecipientError("policy does not allow this recipient")


def _check_wraps(recipients: Sequence[Recipient], wraps: Sequence[Wrap]) -> None:
    expected = [(r.kind, r.id, r.key_id) for r in recipients]
    got = [(w.kind, w.id, w.key_id) for w in wraps]
    if sorted(got, key=repr) != sorted(expected, key=repr) or len(got) != len(set(got)):
        raise SchemaError("wraps must match the recipients one to one")
    if any(len(w.ct) != WRAP_LEN for w in wraps):
        raise SchemaError("every wrap is 80 bytes")


def _check_body(item: Item, ctx: UploadContext) -> bytes:
    size = item.hdr.body.size
    if item.hdr.body.kind == "inline":
        if item.body_ct is None or size > INLINE_MAX:
            raise SchemaError("inline body missing or over 1 MiB")
        if len(item.body_ct) != NONCE_LEN + size + TAG_LEN:
            raise SchemaError("inline ciphertext length does not match body.size")
        return sha256(item.body_ct)
    blob = ctx.blob
    if blob is None or blob.blob_id != item.blob_id:
        raise SchemaError("stream item without its uploaded blob")
    if blob.uploader_user_id != ctx.uploader_user_id or blob.attached:
        raise SchemaError("blob not uploaded by this user, or already attached")
    if blob.length > ctx.blob_max or blob.length != stream.ciphertext_length(size):
        raise SchemaError("blob length does not match the streaming format for body.size")
    return blob.sha256


def check_blob_length(size: int, length: int, blob_max: int = DEFAULT_BLOB_MAX) -> None:
    """For chunked uploads: the final length is fixed by the declared plaintext size (§8)."""
    if length > blob_max or length != stream.ciphertext_length(size):
        raise SchemaError("blob length does not match the streaming format")


def check_grant_upload(
    grant: Grant,
    *,
    root: Header,
    directory: Directory,
    uploader_user_id: uuid.UUID,
    grantee_aek_id: bytes,
    granter_is_principal: bool,
) -> None:
    """§7.9: signature by the uploader's certified AIK, the grantee's current AEK, 80-byte wrap.

    ``granter_is_principal`` is the caller's access decision (revision-0 recipient or an earlier
    valid grant); who may grant at all is practice policy, also the caller's.
    """
    if grant.granter_user_id != uploader_user_id or not granter_is_principal:
        raise NotRecipientError("only a current recipient may grant")
    if grant.item_id != root.item_id or grant.root_h != root.hash():
        raise SchemaError("grant for another item")
    if grant.grantee_key_id != grantee_aek_id or len(grant.wrap) != WRAP_LEN:
        raise SchemaError("grant must wrap to the grantee's current AEK")
    cert = directory.certified_aik(grant.granter_user_id, grant.granter_aik_id, at=grant.granted_at)
    verify(cert.aik_pub, grant.sig, grant.message())


def check_rewrap_upload(
    wrap: Wrap,
    *,
    uploader_user_id: uuid.UUID,
    uploader_is_principal: bool,
    current_aek_pub: bytes,
) -> None:
    """§7.9 re-wrap after AEK rotation: no signature, ``cek_commit`` authenticates the CEK."""
    if not uploader_is_principal or wrap.kind != "user" or wrap.id != uploader_user_id:
        raise NotRecipientError("only a recipient principal may re-wrap, for themself")
    if wrap.key_id != kid("x25519", current_aek_pub) or len(wrap.ct) != WRAP_LEN:
        raise SchemaError("re-wrap must target the uploader's current certified AEK")


def check_device_list_upload(
    previous: DeviceList | None, new: DeviceList, current_aik_pub: bytes
) -> None:
    """§5.3: signed by the user's current AIK, chained, entries never removed or un-revoked."""
    check_successor(previous, new, [current_aik_pub])


def check_config_upload(
    previous: PracticeConfig | None, new: PracticeConfig, prsk_pub: bytes
) -> None:
    verify_config(new, prsk_pub)
    if previous is None:
        check_genesis(new)
    else:
        if new.practice_id != previous.practice_id:
            raise CertError("config for another practice")
        check_link(previous, new)


def check_cert_upload(cert: MemberCert, directory: Directory) -> None:
    directory.verify_cert(cert)


def check_revocation_upload(rev: MemberRevocation, directory: Directory) -> None:
    verify_revocation(rev, directory)


def check_aek_bind_upload(
    bind: AekBind, *, user_id: uuid.UUID, aik_pub: bytes, previous_ver: int | None
) -> None:
    if bind.user_id != user_id:
        raise SchemaError("aek_bind for another user")
    if previous_ver is not None and bind.ver <= previous_ver:
        raise ChainError("aek_bind ver must rise")
    verify_aek_bind(bind, aik_pub)
