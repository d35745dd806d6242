"""Items: seal and open, grants, revisions (crypto-protocol.md §7).

One random CEK per item. The CEK is only HKDF input: it gives the body key and a key commitment
(``cek_commit``) that makes the item key-committing, which AES-GCM alone is not. The CEK is
HPKE-wrapped to every recipient's AEK and, always, to the practice's PRK. The header travels in
clear and is hashed to ``h``; ``h`` is the body's aad and is signed together with the body hash by
the author's AIK.

Reading follows §7.6 in order, so each failure surfaces with the code of the first check it fails.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from itertools import pairwise
from typing import BinaryIO, Final

from cryptography.hazmat.primitives import constant_time
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietroom.crypto import stream
from quietroom.crypto.account import AccountKeys, AekBind, current_aek
from quietroom.crypto.encoding import (
    NIL_UUID,
    SUITE,
    ZS,
    B,
    I,
    L,
    Sha256Stream,
    T,
    U,
    label,
    pae,
    sha256,
)
from quietroom.crypto.errors import (
    BodyError,
    CertError,
    ChainError,
    CommitError,
    CryptoError,
    EncodingError,
    NotRecipientError,
    PinChangedError,
    SchemaError,
    SuiteError,
    WrapError,
)
from quietroom.crypto.keys import (
    HpkeSealer,
    Rng,
    aead_open,
    aead_seal,
    hkdf,
    hpke_open,
    hpke_seal,
    kid,
    random_bytes,
    raw_public,
    sign,
    verify,
)
from quietroom.crypto.practice import Directory

ITEM_TYPES: Final[tuple[str, ...]] = (
    "message",
    "form-response",
    "note",
    "psychotherapy-note",
    "file",
    "consent",
    "key-verification",
)
RECIPIENT_KINDS: Final[tuple[str, ...]] = ("prk", "user")
BODY_KINDS: Final[tuple[str, ...]] = ("inline", "stream")
INLINE_MAX: Final = 1048576
CEK_LEN: Final = 32
PAD_BLOCK: Final = 256


# -- data ----------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Recipient:
    kind: str  # "user" or "prk"
    id: uuid.UUID  # user id, or the practice id for the prk entry
    key_id: bytes

    def sort_key(self) -> tuple[bytes, bytes, bytes]:
        return (T(self.kind), I(self.id), B(self.key_id))

    def piece(self) -> bytes:
        return L(T(self.kind), I(self.id), B(self.key_id))


@dataclass(frozen=True, slots=True)
class BodyInfo:
    kind: str
    size: int
    seg: int


@dataclass(frozen=True, slots=True)
class Header:
    item_id: uuid.UUID
    practice_id: uuid.UUID
    chart_id: uuid.UUID
    thread_id: uuid.UUID
    type: str
    revision: int
    prev_rev_hash: bytes
    author_user_id: uuid.UUID
    author_aik_id: bytes
    created_at: int
    recipients: tuple[Recipient, ...]
    cek_commit: bytes
    body: BodyInfo
    suite: str = SUITE

    def hash(self) -> bytes:
        """``h`` (§7.2)."""
        return sha256(
            pae(
                label("item-hdr"),
                T(self.suite),
                I(self.item_id),
                I(self.practice_id),
                I(self.chart_id),
                I(self.thread_id),
                T(self.type),
                U(self.revision),
                B(self.prev_rev_hash),
                I(self.author_user_id),
                B(self.author_aik_id),
                U(self.created_at),
                L(*(r.piece() for r in self.recipients)),
                B(self.cek_commit),
                T(self.body.kind),
                U(self.body.size),
                U(self.body.seg),
            )
        )


@dataclass(frozen=True, slots=True)
class Wrap:
    kind: str
    id: uuid.UUID
    key_id: bytes
    ct: bytes


@dataclass(frozen=True, slots=True)
class Item:
    """One revision as uploaded: ``{hdr, body: {ct} | {blob_id}, wraps, sig}`` (§7.5)."""

    hdr: Header
    sig: bytes
    body_ct: bytes | None = None  # inline bodies
    blob_id: uuid.UUID | None = None  # stream bodies live in a blob
    wraps: tuple[Wrap, ...] = ()


@dataclass(frozen=True, slots=True)
class Grant:
    item_id: uuid.UUID
    root_h: bytes
    grantee_user_id: uuid.UUID
    grantee_key_id: bytes
    granted_at: int
    granter_user_id: uuid.UUID
    granter_aik_id: bytes
    wrap: bytes
    sig: bytes

    def message(self) -> bytes:
        return grant_message(
            self.item_id, self.root_h, self.grantee_user_id, self.grantee_key_id, self.granted_at
        )


@dataclass(frozen=True, slots=True)
class RecipientKey:
    """A user recipient as the sender verified it (§7.4): who, and which AEK to wrap to."""

    user_id: uuid.UUID
    aek_pub: bytes


@dataclass(frozen=True, slots=True)
class Reader:
    """Who is opening: a user with their AEK(s), or the practice with its PRK(s).

    A PRK reader accepts a wrap to any PRK of the config chain (§10.3), so it may hold several.
    """

    kind: str
    id: uuid.UUID
    keys: tuple[X25519PrivateKey, ...]

    @classmethod
    def user(cls, user_id: uuid.UUID, aek: X25519PrivateKey) -> Reader:
        return cls("user", user_id, (aek,))

    @classmethod
    def practice(cls, practice_id: uuid.UUID, *prks: X25519PrivateKey) -> Reader:
        return cls("prk", practice_id, tuple(prks))


@dataclass(slots=True)
class Pins:
    """AIKs a device has accepted per user, oldest first; the last one is current (§6.4)."""

    aiks: dict[uuid.UUID, list[bytes]] = field(default_factory=dict)
    # The offline tool has no earlier view to pin against: it trusts certificates alone.
    enforce: bool = True

    def check(self, user_id: uuid.UUID, aik_id: bytes) -> None:
        if not self.enforce:
            return
        known = self.aiks.get(user_id)
        if known is None:
            self.aiks[user_id] = [aik_id]  # first contact: trust on first use
            return
        if aik_id not in known:
            raise PinChangedError("this person's key changed and the change is not acknowledged")

    def acknowledge(self, user_id: uuid.UUID, aik_id: bytes) -> None:
        self.aiks.setdefault(user_id, [])
        if aik_id not in self.aiks[user_id]:
            self.aiks[user_id].append(aik_id)


@dataclass(slots=True)
class Trust:
    """A reader's trust anchors: the pinned practice directory and the AIK pins."""

    directory: Directory
    pins: Pins = field(default_factory=Pins)


@dataclass(frozen=True, slots=True)
class SealedItem:
    item: Item
    cek: bytes


@dataclass(frozen=True, slots=True)
class OpenedItem:
    header: Header  # of the newest revision
    payload: bytes
    cek: bytes
    root_h: bytes


# -- derived values (§7.1) -----------------------------------------------------------------------


def cek_commit(cek: bytes, item_id: uuid.UUID) -> bytes:
    return hkdf(cek, ZS, pae(label("cek-commit"), I(item_id)), 32)


def body_key(cek: bytes, item_id: uuid.UUID) -> bytes:
    return hkdf(cek, ZS, pae(label("body-key"), I(item_id)), 32)


def wrap_info(item_id: uuid.UUID, key_id: bytes, root_h: bytes) -> bytes:
    return pae(label("cek-wrap"), I(item_id), B(key_id), B(root_h))


def sig_message(h: bytes, body_hash: bytes) -> bytes:
    return pae(label("item-sig"), B(h), B(body_hash))


def grant_message(
    item_id: uuid.UUID,
    root_h: bytes,
    grantee_user_id: uuid.UUID,
    grantee_key_id: bytes,
    granted_at: int,
) -> bytes:
    return pae(
        label("grant"),
        I(item_id),
        B(root_h),
        I(grantee_user_id),
        B(grantee_key_id),
        U(granted_at),
    )


def pad_payload(payload: bytes) -> bytes:
    """Optional trailing ASCII spaces to a multiple of 256 bytes, to blur lengths (§7.3)."""
    return payload + b" " * (-len(payload) % PAD_BLOCK)


def sort_recipients(recipients: Iterable[Recipient]) -> tuple[Recipient, ...]:
    return tuple(sorted(recipients, key=Recipient.sort_key))


def check_recipients(recipients: Sequence[Recipient]) -> None:
    """Sorted by (kind, id, key_id) bytes, unique, exactly one ``prk`` entry (§7.2, §7.4)."""
    keys = [r.sort_key() for r in recipients]
    if any(a >= b for a, b in pairwise(keys)):
        raise SchemaError("recipients must be sorted and unique")
    if any(r.kind not in RECIPIENT_KINDS for r in recipients):
        raise SchemaError("unknown recipient kind")
    if sum(1 for r in recipients if r.kind == "prk") != 1:
        raise SchemaError("an item needs exactly one prk recipient")
    users = [r.id for r in recipients if r.kind == "user"]
    if len(users) != len(set(users)):
        raise SchemaError("a user may appear only once among the recipients")


def check_header(hdr: Header) -> None:
    """Structural rules a decoder enforces on every header (``E_SUITE``/``E_SCHEMA``)."""
    if hdr.suite != SUITE:
        raise SuiteError(f"unknown suite {hdr.suite!r}")
    if hdr.type not in ITEM_TYPES:
        raise SchemaError(f"unknown item type {hdr.type!r}")
    if hdr.body.kind not in BODY_KINDS:
        raise SchemaError("unknown body kind")
    if hdr.body.kind == "inline" and (hdr.body.seg != 0 or hdr.body.size > INLINE_MAX):
        raise SchemaError("inline body must have seg 0 and size at most 1 MiB")
    if hdr.body.kind == "stream" and hdr.body.seg != stream.SEGMENT_SIZE:
        raise SchemaError("stream body must have seg 1048576")
    if (hdr.revision == 0) != (hdr.prev_rev_hash == b""):
        raise SchemaError("prev_rev_hash is empty exactly for revision 0")
    if hdr.revision > 0 and len(hdr.prev_rev_hash) != 32:
        raise EncodingError("prev_rev_hash must be 32 bytes")
    if len(hdr.author_aik_id) != 16 or len(hdr.cek_commit) != 32:
        raise EncodingError("author_aik_id is 16 bytes and cek_commit 32")
    if any(len(r.key_id) != 16 for r in hdr.recipients):
        raise EncodingError("recipient key ids are 16 bytes")
    check_recipients(hdr.recipients)


# -- sealing -------------------------------------------------------------------------------------


def _recipient_keys(
    practice_id: uuid.UUID, prk_pub: bytes, users: Sequence[RecipientKey]
) -> list[tuple[Recipient, bytes]]:
    pairs = [(Recipient("prk", practice_id, kid("x25519", prk_pub)), prk_pub)]
    pairs += [(Recipient("user", u.user_id, kid("x25519", u.aek_pub)), u.aek_pub) for u in users]
    return sorted(pairs, key=lambda pair: pair[0].sort_key())


def _new_header(
    *,
    item_id: uuid.UUID,
    practice_id: uuid.UUID,
    chart_id: uuid.UUID,
    thread_id: uuid.UUID,
    item_type: str,
    author_user_id: uuid.UUID,
    author: AccountKeys,
    created_at: int,
    recipients: Sequence[Recipient],
    cek: bytes,
    body: BodyInfo,
) -> Header:
    hdr = Header(
        item_id=item_id,
        practice_id=practice_id,
        chart_id=chart_id,
        thread_id=thread_id,
        type=item_type,
        revision=0,
        prev_rev_hash=b"",
        author_user_id=author_user_id,
        author_aik_id=author.aik_id,
        created_at=created_at,
        recipients=tuple(recipients),
        cek_commit=cek_commit(cek, item_id),
        body=body,
    )
    check_header(hdr)
    return hdr


def _wraps(
    cek: bytes,
    item_id: uuid.UUID,
    root_h: bytes,
    pairs: Sequence[tuple[Recipient, bytes]],
    hpke: HpkeSealer,
) -> tuple[Wrap, ...]:
    return tuple(
        Wrap(r.kind, r.id, r.key_id, hpke(pub, wrap_info(item_id, r.key_id, root_h), cek))
        for r, pub in pairs
    )


def seal_inline(
    payload: bytes,
    *,
    item_id: uuid.UUID,
    practice_id: uuid.UUID,
    item_type: str,
    author_user_id: uuid.UUID,
    author: AccountKeys,
    created_at: int,
    recipients: Sequence[RecipientKey],
    prk_pub: bytes,
    chart_id: uuid.UUID = NIL_UUID,
    thread_id: uuid.UUID = NIL_UUID,
    rng: Rng = random_bytes,
    hpke: HpkeSealer = hpke_seal,
) -> SealedItem:
    """Seals revision 0 of an inline item; the PRK wrap is added here so it cannot be forgotten."""
    if len(payload) > INLINE_MAX:
        raise SchemaError("inline payload over 1 MiB: use a stream body")
    cek = rng(CEK_LEN)
    pairs = _recipient_keys(practice_id, prk_pub, recipients)
    hdr = _new_header(
        item_id=item_id,
        practice_id=practice_id,
        chart_id=chart_id,
        thread_id=thread_id,
        item_type=item_type,
        author_user_id=author_user_id,
        author=author,
        created_at=created_at,
        recipients=[r for r, _ in pairs],
        cek=cek,
        body=BodyInfo("inline", len(payload), 0),
    )
    h = hdr.hash()
    body_ct = aead_seal(body_key(cek, item_id), payload, h, rng=rng)
    sig = sign(author.aik, sig_message(h, sha256(body_ct)))
    wraps = _wraps(cek, item_id, h, pairs, hpke)
    return SealedItem(Item(hdr=hdr, sig=sig, body_ct=body_ct, wraps=wraps), cek)


def seal_stream(
    source: BinaryIO,
    sink: BinaryIO,
    *,
    size: int,
    blob_id: uuid.UUID,
    item_id: uuid.UUID,
    practice_id: uuid.UUID,
    item_type: str,
    author_user_id: uuid.UUID,
    author: AccountKeys,
    created_at: int,
    recipients: Sequence[RecipientKey],
    prk_pub: bytes,
    chart_id: uuid.UUID = NIL_UUID,
    thread_id: uuid.UUID = NIL_UUID,
    rng: Rng = random_bytes,
    hpke: HpkeSealer = hpke_seal,
) -> SealedItem:
    """Streams ``size`` plaintext bytes from ``source`` to the blob ``sink``, hashing as it goes."""
    cek = rng(CEK_LEN)
    pairs = _recipient_keys(practice_id, prk_pub, recipients)
    hdr = _new_header(
        item_id=item_id,
        practice_id=practice_id,
        chart_id=chart_id,
        thread_id=thread_id,
        item_type=item_type,
        author_user_id=author_user_id,
        author=author,
        created_at=created_at,
        recipients=[r for r, _ in pairs],
        cek=cek,
        body=BodyInfo("stream", size, stream.SEGMENT_SIZE),
    )
    h = hdr.hash()
    body_hash = _encrypt_stream_hashing(cek, h, source, sink, size=size, rng=rng)
    sig = sign(author.aik, sig_message(h, body_hash))
    wraps = _wraps(cek, item_id, h, pairs, hpke)
    return SealedItem(Item(hdr=hdr, sig=sig, blob_id=blob_id, wraps=wraps), cek)


def _encrypt_stream_hashing(
    cek: bytes, h: bytes, source: BinaryIO, sink: BinaryIO, *, size: int, rng: Rng
) -> bytes:
    encryptor = stream.StreamEncryptor(cek, h, rng=rng)
    digest = Sha256Stream()
    total = 0
    while chunk := source.read(stream.CHUNK):
        total += len(chunk)
        out = encryptor.update(chunk)
        digest.update(out)
        sink.write(out)
    out = encryptor.finalize()
    digest.update(out)
    sink.write(out)
    if total != size:
        raise BodyError("stream source length differs from the declared size")
    return digest.digest()


def revise_inline(
    previous: Item,
    cek: bytes,
    payload: bytes,
    *,
    reviser_user_id: uuid.UUID,
    reviser: AccountKeys,
    created_at: int,
    rng: Rng = random_bytes,
) -> Item:
    """A new revision (§7.10): same CEK and body key, fresh nonce, no new wraps."""
    prev = previous.hdr
    if prev.body.kind != "inline":
        raise SchemaError("revise_inline needs an inline item")
    hdr = replace(
        prev,
        revision=prev.revision + 1,
        prev_rev_hash=prev.hash(),
        author_user_id=reviser_user_id,
        author_aik_id=reviser.aik_id,
        created_at=created_at,
        body=BodyInfo("inline", len(payload), 0),
    )
    check_header(hdr)
    h = hdr.hash()
    body_ct = aead_seal(body_key(cek, prev.item_id), payload, h, rng=rng)
    return Item(hdr=hdr, sig=sign(reviser.aik, sig_message(h, sha256(body_ct))), body_ct=body_ct)


def make_grant(
    cek: bytes,
    *,
    item_id: uuid.UUID,
    root_h: bytes,
    grantee_user_id: uuid.UUID,
    grantee_aek_pub: bytes,
    granted_at: int,
    granter_user_id: uuid.UUID,
    granter: AccountKeys,
    hpke: HpkeSealer = hpke_seal,
) -> Grant:
    """§7.9: the granter, a current recipient, wraps the CEK to a verified grantee."""
    key_id = kid("x25519", grantee_aek_pub)
    wrap = hpke(grantee_aek_pub, wrap_info(item_id, key_id, root_h), cek)
    message = grant_message(item_id, root_h, grantee_user_id, key_id, granted_at)
    return Grant(
        item_id=item_id,
        root_h=root_h,
        grantee_user_id=grantee_user_id,
        grantee_key_id=key_id,
        granted_at=granted_at,
        granter_user_id=granter_user_id,
        granter_aik_id=granter.aik_id,
        wrap=wrap,
        sig=sign(granter.aik, message),
    )


def rewrap(
    cek: bytes,
    *,
    item_id: uuid.UUID,
    root_h: bytes,
    kind: str,
    principal_id: uuid.UUID,
    new_pub: bytes,
    hpke: HpkeSealer = hpke_seal,
) -> Wrap:
    """A wrap to a new AEK (§5.4, §7.9) or a new PRK (§10.3); ``cek_commit`` authenticates it."""
    key_id = kid("x25519", new_pub)
    return Wrap(kind, principal_id, key_id, hpke(new_pub, wrap_info(item_id, key_id, root_h), cek))


def verify_recipient(
    trust: Trust,
    *,
    user_id: uuid.UUID,
    aik_id: bytes,
    aek_binds: Iterable[AekBind],
    now: int,
) -> RecipientKey:
    """Before sealing (§7.4): certified, not revoked, pinned, and the AEK bound under that AIK."""
    cert = trust.directory.certified_aik(user_id, aik_id, at=now)
    trust.pins.check(user_id, aik_id)
    bind = current_aek(aek_binds, user_id=user_id, aik_pub=cert.aik_pub)
    return RecipientKey(user_id, bind.aek_pub)


# -- destruction statement (§11.1) ---------------------------------------------------------------


def destroy_message(
    practice_id: uuid.UUID,
    chart_id: uuid.UUID,
    item_ids: Iterable[uuid.UUID],
    at: int,
    reason: str,
) -> bytes:
    ordered = sorted(item_ids, key=lambda u: u.bytes)
    return pae(
        label("destroy"),
        I(practice_id),
        I(chart_id),
        L(*(I(i) for i in ordered)),
        U(at),
        T(reason),
    )


def sign_destroy(
    aik: Ed25519PrivateKey,
    *,
    practice_id: uuid.UUID,
    chart_id: uuid.UUID,
    item_ids: Iterable[uuid.UUID],
    at: int,
    reason: str,
) -> bytes:
    return sign(aik, destroy_message(practice_id, chart_id, item_ids, at, reason))


# -- reading (§7.6) ------------------------------------------------------------------------------


def _check_context(hdr: Header, trust: Trust) -> None:
    # Step 1 (schema, encodings and suite were checked by the decoder; check again for
    # hand-built objects).
    check_header(hdr)
    if hdr.practice_id != trust.directory.practice_id:
        raise CertError("item belongs to another practice than the pinned one")


def _author_key(hdr: Header, trust: Trust) -> bytes:
    # Step 2: certificate chain to the pinned PRSK, valid at created_at, and a pinned AIK.
    cert = trust.directory.certified_aik(hdr.author_user_id, hdr.author_aik_id, at=hdr.created_at)
    trust.pins.check(hdr.author_user_id, hdr.author_aik_id)
    return cert.aik_pub


def check_revision_link(previous: Header, current: Header) -> None:
    # Step 4: every revision continues the one before it and changes none of the fixed fields.
    if current.revision != previous.revision + 1:
        raise ChainError("revision numbers are not consecutive")
    if not constant_time.bytes_eq(current.prev_rev_hash, previous.hash()):
        raise ChainError("prev_rev_hash is not the hash of the previous revision")
    fixed = ("item_id", "practice_id", "chart_id", "thread_id", "type", "recipients", "cek_commit")
    if any(getattr(previous, name) != getattr(current, name) for name in fixed):
        raise ChainError("a revision changed a field that is fixed for the item")
    if previous.body.kind != current.body.kind:
        raise ChainError("a revision changed the body kind")


def _body_hash(item: Item, known: Mapping[int, bytes]) -> bytes | None:
    if item.hdr.body.kind == "inline":
        if item.body_ct is None:
            raise SchemaError("inline item without a body ciphertext")
        return sha256(item.body_ct)
    return known.get(item.hdr.revision)


def verify_revisions(
    revisions: Sequence[Item],
    trust: Trust,
    *,
    body_hashes: Mapping[int, bytes] | None = None,
    deferred_sig: int | None = None,
) -> list[bytes]:
    """Steps 1 to 4 for the newest revision and every earlier one; returns each revision's ``h``.

    ``body_hashes`` gives SHA-256 of stream blobs by revision. Only ``deferred_sig`` (the revision
    :func:`open_stream` hashes while it streams) may lack one: its signature is then the caller's
    to check, after the last segment.
    """
    if not revisions:
        raise SchemaError("no revision to open")
    known = body_hashes or {}
    checked: dict[int, bytes] = {}
    # The item itself first, then every earlier revision (§7.6 steps 1-4).
    for index in [len(revisions) - 1, *range(len(revisions) - 1)]:
        item = revisions[index]
        if item.hdr.revision != index:
            raise ChainError("revisions must be given in order from revision 0")
        _check_context(item.hdr, trust)
        aik_pub = _author_key(item.hdr, trust)
        h = item.hdr.hash()
        body_hash = _body_hash(item, known)
        if body_hash is not None:
            verify(aik_pub, item.sig, sig_message(h, body_hash))  # step 3
        elif index != deferred_sig:
            raise SchemaError(f"no blob hash for stream revision {index}: cannot verify it")
        checked[index] = h
    for index in range(1, len(revisions)):
        check_revision_link(revisions[index - 1].hdr, revisions[index].hdr)
    return [checked[i] for i in range(len(revisions))]


def _valid_grant_for(
    reader_id: uuid.UUID,
    root: Header,
    root_h: bytes,
    grants: Sequence[Grant],
    trust: Trust,
) -> Grant:
    """Step 5 through grants: a verified chain of grants from a revision-0 recipient (§7.9)."""
    principals = {r.id for r in root.recipients if r.kind == "user"}
    last_error: CryptoError = NotRecipientError("reader is not a recipient and holds no grant")
    found: Grant | None = None
    for grant in sorted(grants, key=lambda g: g.granted_at):
        try:
            if grant.item_id != root.item_id or grant.root_h != root_h:
                raise NotRecipientError("grant for another item")
            if grant.granter_user_id not in principals:
                raise NotRecipientError("granter was not a recipient when granting")
            cert = trust.directory.certified_aik(
                grant.granter_user_id, grant.granter_aik_id, at=grant.granted_at
            )
            verify(cert.aik_pub, grant.sig, grant.message())
        except CryptoError as exc:
            if grant.grantee_user_id == reader_id:
                last_error = exc
            continue
        principals.add(grant.grantee_user_id)
        if grant.grantee_user_id == reader_id and found is None:
            found = grant
    if found is None:
        raise last_error
    return found


def _candidate_wraps(
    reader: Reader,
    root: Header,
    root_h: bytes,
    *,
    wraps: Sequence[Wrap],
    grants: Sequence[Grant],
    trust: Trust,
) -> list[Wrap]:
    """Step 5 (access) and the wraps addressed to the reader's principal."""
    if reader.kind == "prk":
        if reader.id != root.practice_id:
            raise NotRecipientError("PRK of another practice")
        return [w for w in wraps if w.kind == "prk" and w.id == reader.id]
    if reader.kind != "user":
        raise SchemaError("unknown reader kind")
    mine = [w for w in wraps if w.kind == "user" and w.id == reader.id]
    # A recipient whose wraps were deleted when they left (§7.9) and who came back reads
    # through a grant, like anyone added later.
    if mine and any(r.kind == "user" and r.id == reader.id for r in root.recipients):
        return mine
    grant = _valid_grant_for(reader.id, root, root_h, grants, trust)
    return [Wrap("user", reader.id, grant.grantee_key_id, grant.wrap), *mine]


def open_cek(
    reader: Reader,
    root: Header,
    root_h: bytes,
    *,
    wraps: Sequence[Wrap],
    grants: Sequence[Grant],
    trust: Trust,
) -> bytes:
    """Steps 5 to 7: access, open the wrap for the reader's key, check the key commitment."""
    candidates = _candidate_wraps(reader, root, root_h, wraps=wraps, grants=grants, trust=trust)
    for key in reader.keys:
        key_id = kid("x25519", raw_public(key))
        for wrap in candidates:
            if wrap.key_id != key_id:
                continue
            cek = hpke_open(key, wrap_info(root.item_id, wrap.key_id, root_h), wrap.ct)  # step 6
            if len(cek) != CEK_LEN:
                raise WrapError("wrap does not hold a 32-byte CEK")
            # Step 7: a wrap can be made by anyone who knows the reader's public key, so only the
            # commitment signed in the header shows this is the CEK the author sealed with.
            if not constant_time.bytes_eq(cek_commit(cek, root.item_id), root.cek_commit):
                raise CommitError("CEK does not match the item's key commitment")
            return cek
    raise WrapError("no wrap for the reader's current key")


def open_item(
    revisions: Sequence[Item],
    *,
    reader: Reader,
    trust: Trust,
    wraps: Sequence[Wrap] | None = None,
    grants: Sequence[Grant] = (),
    blob: bytes | None = None,
) -> OpenedItem:
    """Opens the newest revision after every check of §7.6, in order.

    ``wraps`` defaults to revision 0's (the server may serve re-wraps instead); ``blob`` is the
    stream ciphertext of the newest revision when its body is a stream.
    """
    newest = revisions[-1] if revisions else None
    hashes: dict[int, bytes] = {}
    if newest is not None and newest.hdr.body.kind == "stream":
        if blob is None:
            raise BodyError("stream item opened without its blob")
        hashes[newest.hdr.revision] = sha256(blob)
    h_list = verify_revisions(revisions, trust, body_hashes=hashes)
    assert newest is not None  # noqa: S101 - verify_revisions refuses an empty list
    root, root_h = revisions[0].hdr, h_list[0]
    cek = open_cek(
        reader,
        root,
        root_h,
        wraps=revisions[0].wraps if wraps is None else wraps,
        grants=grants,
        trust=trust,
    )
    hdr, h = newest.hdr, h_list[-1]
    if hdr.body.kind == "inline":
        assert newest.body_ct is not None  # noqa: S101 - checked by verify_revisions
        payload = aead_open(body_key(cek, hdr.item_id), newest.body_ct, h, BodyError)
    else:
        assert blob is not None  # noqa: S101 - checked above
        payload = stream.decrypt_bytes(cek, h, blob)
    if len(payload) != hdr.body.size:
        raise BodyError("body length differs from the signed size")
    return OpenedItem(header=hdr, payload=payload, cek=cek, root_h=root_h)


def open_stream(
    revisions: Sequence[Item],
    source: BinaryIO,
    sink: BinaryIO,
    *,
    reader: Reader,
    trust: Trust,
    wraps: Sequence[Wrap] | None = None,
    grants: Sequence[Grant] = (),
    earlier_body_hashes: Mapping[int, bytes] | None = None,
) -> Header:
    """Streams the newest revision's blob into ``sink`` in bounded memory.

    What reaches ``sink`` is provisional: only when this returns have the last segment and the
    signature over the blob hash both checked out (§7.6 step 8). On an exception the caller MUST
    discard ``sink``.
    """
    if not revisions or revisions[-1].hdr.body.kind != "stream":
        raise SchemaError("open_stream needs a stream item")
    newest = revisions[-1]
    h_list = verify_revisions(
        revisions,
        trust,
        body_hashes=earlier_body_hashes,
        deferred_sig=newest.hdr.revision,
    )
    root, root_h = revisions[0].hdr, h_list[0]
    cek = open_cek(
        reader,
        root,
        root_h,
        wraps=revisions[0].wraps if wraps is None else wraps,
        grants=grants,
        trust=trust,
    )
    decryptor = stream.StreamDecryptor(cek, h_list[-1])
    digest = Sha256Stream()
    total = 0
    while chunk := source.read(stream.CHUNK):
        digest.update(chunk)
        out = decryptor.update(chunk)
        total += len(out)
        sink.write(out)
    out = decryptor.finalize()
    total += len(out)
    sink.write(out)
    aik_pub = _author_key(newest.hdr, trust)
    verify(aik_pub, newest.sig, sig_message(h_list[-1], digest.digest()))
    if total != newest.hdr.body.size:
        raise BodyError("body length differs from the signed size")
    return newest.hdr
