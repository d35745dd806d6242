"""Core of the offline practice tool (crypto-protocol.md §10.3, §13.2).

Runs on an air-gapped machine with the recovery sheet: opens any item with the PRK, audits that
every item's PRK wrap really opens (the server cannot check that, ENC-05), and rotates the PRK.
Seeds stay in memory only; nothing here touches the network or the disk.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietroom.crypto.account import open_rec_escrow, rec_escrow_info
from quietroom.crypto.chain import ChainHead, check_advance
from quietroom.crypto.encoding import sha256
from quietroom.crypto.errors import CertError, CryptoError
from quietroom.crypto.items import (
    Grant,
    Item,
    OpenedItem,
    Pins,
    Reader,
    Trust,
    Wrap,
    open_cek,
    open_item,
    rewrap,
    verify_revisions,
)
from quietroom.crypto.keys import HpkeSealer, hpke_seal, kid, pkcs8_encode, raw_public
from quietroom.crypto.practice import (
    Directory,
    MemberCert,
    MemberRevocation,
    PracticeConfig,
    PracticeKeys,
    parse_sheet_payload,
    sign_config,
    verify_config,
)


@dataclass(frozen=True, slots=True)
class ExportedItem:
    revisions: tuple[Item, ...]
    wraps: tuple[Wrap, ...]  # as stored now (may include re-wraps)
    grants: tuple[Grant, ...] = ()
    blob: bytes | None = None  # newest revision's stream ciphertext, when a stream
    earlier_blob_hashes: Mapping[int, bytes] = field(default_factory=dict)

    def body_hashes(self) -> dict[int, bytes]:
        """SHA-256 of every stream revision's blob, for the signature checks."""
        hashes = dict(self.earlier_blob_hashes)
        if self.revisions and self.blob is not None:
            hashes[self.revisions[-1].hdr.revision] = sha256(self.blob)
        return hashes


@dataclass(frozen=True, slots=True)
class Escrow:
    user_id: uuid.UUID
    aek_id: bytes
    escrow: bytes


@dataclass(slots=True)
class SealedExport:
    """What ``quietroom export-sealed`` hands the tool: ciphertext and public, signed data."""

    practice_id: uuid.UUID
    configs: list[PracticeConfig]  # the whole chain, oldest first
    certs: list[MemberCert] = field(default_factory=list)
    revocations: list[MemberRevocation] = field(default_factory=list)
    items: list[ExportedItem] = field(default_factory=list)
    escrows: list[Escrow] = field(default_factory=list)

    def current_config(self, prsk_pub: bytes) -> PracticeConfig:
        """The newest config after checking the whole chain under the PRSK from the sheet."""
        for config in self.configs:
            if config.practice_id != self.practice_id:
                raise CertError("config of another practice in the export")
            verify_config(config, prsk_pub)
        check_advance(None, self.configs)
        return self.configs[-1]

    def trust(self, prsk_pub: bytes) -> Trust:
        directory = Directory(self.practice_id, prsk_pub, list(self.certs), list(self.revocations))
        return Trust(directory, Pins(enforce=False))


@dataclass(frozen=True, slots=True)
class AuditResult:
    item_id: uuid.UUID
    ok: bool
    code: str = ""
    message: str = ""


def load_sheet(sheet_payload: str, export: SealedExport) -> PracticeKeys:
    """Parses the sheet and refuses it unless it matches the export's newest config (§6.1)."""
    keys = parse_sheet_payload(sheet_payload)
    if keys.practice_id != export.practice_id:
        raise CertError("recovery sheet of another practice")
    keys.check_against(export.current_config(keys.prsk_pub))
    return keys


def prk_reader(practice_id: uuid.UUID, prks: Sequence[X25519PrivateKey]) -> Reader:
    # A wrap to any PRK of the config chain is acceptable (§7.6 step 5, §10.3).
    return Reader.practice(practice_id, *prks)


def open_exported(
    item: ExportedItem, export: SealedExport, prsk_pub: bytes, prks: Sequence[X25519PrivateKey]
) -> OpenedItem:
    """Opens one item with the PRK after every check of §7.6."""
    return open_item(
        item.revisions,
        reader=prk_reader(export.practice_id, prks),
        trust=export.trust(prsk_pub),
        wraps=item.wraps,
        grants=item.grants,
        blob=item.blob,
    )


def audit(
    export: SealedExport,
    prsk_pub: bytes,
    prks: Sequence[X25519PrivateKey],
    *,
    decrypt: bool = False,
) -> list[AuditResult]:
    """For every item: PRK wrap opens, ``cek_commit`` holds, signatures and chain verify.

    With ``decrypt`` the body is decrypted too. Every failure is reported by item id; one bad item
    never stops the audit.
    """
    results = []
    trust = export.trust(prsk_pub)
    reader = prk_reader(export.practice_id, prks)
    for item in export.items:
        item_id = item.revisions[0].hdr.item_id if item.revisions else uuid.UUID(int=0)
        try:
            if decrypt:
                open_exported(item, export, prsk_pub, prks)
            else:
                hashes = {}
                newest = item.revisions[-1] if item.revisions else None
                if (
                    newest is not None
                    and newest.hdr.body.kind == "stream"
                    and item.blob is not None
                ):
                    hashes[newest.hdr.revision] = sha256(item.blob)
                h_list = verify_revisions(item.revisions, trust, body_hashes=hashes)
                open_cek(
                    reader,
                    item.revisions[0].hdr,
                    h_list[0],
                    wraps=item.wraps,
                    grants=item.grants,
                    trust=trust,
                )
        except CryptoError as exc:
            results.append(AuditResult(item_id, ok=False, code=exc.code, message=exc.message))
            continue
        results.append(AuditResult(item_id, ok=True))
    return results


@dataclass(frozen=True, slots=True)
class Rotation:
    config: PracticeConfig  # seq + 1 with the new PRK, signed by the PRSK
    wraps: dict[uuid.UUID, Wrap]  # item id -> the new PRK wrap
    escrows: list[Escrow]
    failures: list[AuditResult]


def rotate_prk(
    export: SealedExport,
    keys: PracticeKeys,
    new_prk: X25519PrivateKey,
    *,
    old_prks: Sequence[X25519PrivateKey] = (),
    hpke: HpkeSealer = hpke_seal,
) -> Rotation:
    """§10.3: re-seal every PRK wrap and every escrow to ``new_prk`` and sign the next config.

    ``old_prks`` are earlier PRKs still present in wraps from before an earlier rotation. Items
    whose PRK wrap fails are listed in ``failures`` and left alone: they need investigation, not
    a silent skip.
    """
    current = export.current_config(keys.prsk_pub)
    keys.check_against(current)
    prks = [keys.prk, *old_prks]
    trust = export.trust(keys.prsk_pub)
    reader = prk_reader(export.practice_id, prks)
    new_pub = raw_public(new_prk)
    wraps: dict[uuid.UUID, Wrap] = {}
    failures = []
    for item in export.items:
        root = item.revisions[0].hdr
        try:
            h_list = verify_revisions(item.revisions, trust, body_hashes=item.body_hashes())
            cek = open_cek(
                reader, root, h_list[0], wraps=item.wraps, grants=item.grants, trust=trust
            )
        except CryptoError as exc:
            failures.append(AuditResult(root.item_id, ok=False, code=exc.code, message=exc.message))
            continue
        wraps[root.item_id] = rewrap(
            cek,
            item_id=root.item_id,
            root_h=h_list[0],
            kind="prk",
            principal_id=export.practice_id,
            new_pub=new_pub,
            hpke=hpke,
        )
    escrows = []
    new_prk_id = kid("x25519", new_pub)
    for escrow in export.escrows:
        aek = open_rec_escrow(
            keys.prk,
            escrow.escrow,
            practice_id=export.practice_id,
            user_id=escrow.user_id,
            aek_id=escrow.aek_id,
        )
        info = rec_escrow_info(export.practice_id, escrow.user_id, escrow.aek_id, new_prk_id)
        escrows.append(
            Escrow(escrow.user_id, escrow.aek_id, hpke(new_pub, info, pkcs8_encode(aek)))
        )
    config = sign_config(
        keys.prsk,
        practice_id=export.practice_id,
        seq=current.seq + 1,
        prev_hash=ChainHead.of(current).hash,
        prk_pub=new_pub,
        name=current.name,
        policy=dict(current.policy),
    )
    return Rotation(config=config, wraps=wraps, escrows=escrows, failures=failures)
