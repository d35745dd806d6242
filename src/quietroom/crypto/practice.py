"""Practice keys: PRK/PRSK, the recovery sheet, signed config, member certificates (§6.1 to 6.3).

The PRSK is the practice's root of trust: every member's AIK is accepted only through a
certificate chain ending at the pinned PRSK, which is what stops a malicious server from
substituting keys. The PRK is the practice's recovery key: every item is wrapped to it.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from quietroom.crypto.chain import ChainHead, check_advance, check_genesis
from quietroom.crypto.encoding import (
    B,
    I,
    L,
    T,
    U,
    b64url_decode,
    b64url_encode,
    label,
    pae,
)
from quietroom.crypto.errors import CertError, EncodingError, SchemaError, SignatureError
from quietroom.crypto.keys import (
    HpkeSealer,
    Rng,
    ed25519_from_seed,
    hpke_open,
    hpke_seal,
    kid,
    pkcs8_decode_ed25519,
    pkcs8_encode,
    random_bytes,
    raw_public,
    raw_seed,
    sign,
    verify,
    x25519_from_seed,
)

Role = Literal["owner", "admin", "therapist", "client"]
ROLES: Final[tuple[str, ...]] = ("owner", "admin", "therapist", "client")
STAFF_ROLES: Final[frozenset[str]] = frozenset({"owner", "admin", "therapist"})
REASONS: Final[tuple[str, ...]] = ("enrolled", "recovered", "rotated", "role-change")
ISSUER_KINDS: Final[tuple[str, ...]] = ("prsk", "member")
SHEET_PREFIX: Final = "qr1-sheet:"


@dataclass(frozen=True, slots=True)
class PracticeKeys:
    """The two practice secrets printed on the recovery sheet."""

    practice_id: uuid.UUID
    prk: X25519PrivateKey
    prsk: Ed25519PrivateKey

    @classmethod
    def generate(cls, practice_id: uuid.UUID, rng: Rng = random_bytes) -> PracticeKeys:
        return cls.from_seeds(practice_id, rng(32), rng(32))

    @classmethod
    def from_seeds(cls, practice_id: uuid.UUID, prk_seed: bytes, prsk_seed: bytes) -> PracticeKeys:
        return cls(practice_id, x25519_from_seed(prk_seed), ed25519_from_seed(prsk_seed))

    @property
    def prk_pub(self) -> bytes:
        return raw_public(self.prk)

    @property
    def prsk_pub(self) -> bytes:
        return raw_public(self.prsk)

    @property
    def prk_id(self) -> bytes:
        return kid("x25519", self.prk_pub)

    @property
    def prsk_id(self) -> bytes:
        return kid("ed25519", self.prsk_pub)

    def sheet_payload(self) -> str:
        """The QR code text on the recovery sheet (§6.1)."""
        body = pae(
            label("sheet"), I(self.practice_id), B(raw_seed(self.prk)), B(raw_seed(self.prsk))
        )
        return SHEET_PREFIX + b64url_encode(body)

    def check_against(self, config: PracticeConfig) -> None:
        """Whatever loads a seed must compare it with the config and refuse on mismatch (§6.1)."""
        if self.prsk_pub != config.prsk_pub or self.practice_id != config.practice_id:
            raise CertError("recovery sheet does not match the practice config (PRSK)")
        if self.prk_pub != config.prk_pub:
            raise CertError("recovery sheet does not match the practice config (PRK)")


def parse_sheet_payload(text: str) -> PracticeKeys:
    if not text.startswith(SHEET_PREFIX):
        raise EncodingError("not a qr1 recovery sheet")
    data = b64url_decode(text[len(SHEET_PREFIX) :])
    expected_label = label("sheet")
    # Fixed layout: PAE of 4 pieces with lengths len(label), 16, 32, 32.
    pieces = _split_pae(data, [len(expected_label), 16, 32, 32])
    if pieces[0] != expected_label:
        raise EncodingError("not a qr1 recovery sheet")
    return PracticeKeys.from_seeds(uuid.UUID(bytes=pieces[1]), pieces[2], pieces[3])


def _split_pae(data: bytes, lengths: Sequence[int]) -> list[bytes]:
    expected = pae(*(bytes(n) for n in lengths))
    if len(data) != len(expected):
        raise EncodingError("malformed PAE")
    out, pos = [], 8
    if int.from_bytes(data[:8], "little") != len(lengths):
        raise EncodingError("malformed PAE")
    for n in lengths:
        if int.from_bytes(data[pos : pos + 8], "little") != n:
            raise EncodingError("malformed PAE")
        out.append(data[pos + 8 : pos + 8 + n])
        pos += 8 + n
    return out


def seed_groups(seed: bytes) -> str:
    """A 32-byte seed as base32 in groups of four, for the printed sheet."""
    chars = base64.b32encode(seed).decode("ascii").rstrip("=")
    return " ".join(chars[i : i + 4] for i in range(0, len(chars), 4))


# -- practice config (§6.2) ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PracticeConfig:
    practice_id: uuid.UUID
    seq: int
    prev_hash: bytes
    prsk_pub: bytes
    prk_pub: bytes
    name: str
    policy: Mapping[str, str] = field(default_factory=dict)
    sig: bytes = b""

    def message(self) -> bytes:
        pairs = sorted(self.policy.items(), key=lambda kv: T(kv[0]))
        return pae(
            label("practice-config"),
            I(self.practice_id),
            U(self.seq),
            B(self.prev_hash),
            B(self.prsk_pub),
            B(self.prk_pub),
            T(self.name),
            L(*(L(T(k), T(v)) for k, v in pairs)),
        )

    @property
    def prk_id(self) -> bytes:
        return kid("x25519", self.prk_pub)


def sign_config(
    prsk: Ed25519PrivateKey,
    *,
    practice_id: uuid.UUID,
    seq: int,
    prev_hash: bytes,
    prk_pub: bytes,
    name: str,
    policy: Mapping[str, str] | None = None,
) -> PracticeConfig:
    unsigned = PracticeConfig(
        practice_id, seq, prev_hash, raw_public(prsk), prk_pub, name, dict(policy or {})
    )
    return PracticeConfig(
        unsigned.practice_id,
        seq,
        prev_hash,
        unsigned.prsk_pub,
        prk_pub,
        name,
        unsigned.policy,
        sign(prsk, unsigned.message()),
    )


def verify_config(config: PracticeConfig, pinned_prsk_pub: bytes) -> None:
    """Every config must be signed by the pinned PRSK; a changed PRSK is a blocking error (§6.4)."""
    if config.prsk_pub != pinned_prsk_pub:
        raise CertError("practice config names another PRSK than the pinned one")
    verify(pinned_prsk_pub, config.sig, config.message())


def accept_configs(
    pinned: ChainHead | None,
    versions: Sequence[PracticeConfig],
    *,
    practice_id: uuid.UUID,
    pinned_prsk_pub: bytes,
) -> ChainHead:
    for config in versions:
        if config.practice_id != practice_id:
            raise CertError("config of another practice")
        verify_config(config, pinned_prsk_pub)
    if pinned is None and versions and versions[0].seq == 1:
        check_genesis(versions[0])
    return check_advance(pinned, versions)


# -- member certificates and revocations (§6.3) -------------------------------------------------


@dataclass(frozen=True, slots=True)
class MemberCert:
    practice_id: uuid.UUID
    user_id: uuid.UUID
    role: str
    aik_pub: bytes
    valid_from: int
    reason: str
    issuer_kind: str
    issuer_key_id: bytes
    sig: bytes = b""

    def message(self) -> bytes:
        return pae(
            label("member-cert"),
            I(self.practice_id),
            I(self.user_id),
            T(self.role),
            B(self.aik_pub),
            U(self.valid_from),
            T(self.reason),
            T(self.issuer_kind),
            B(self.issuer_key_id),
        )

    @property
    def aik_id(self) -> bytes:
        return kid("ed25519", self.aik_pub)


@dataclass(frozen=True, slots=True)
class MemberRevocation:
    practice_id: uuid.UUID
    user_id: uuid.UUID
    aik_id: bytes
    revoked_at: int
    reason: str
    signer_key_id: bytes  # which key signed: the PRSK or the certificate's issuer (not signed)
    sig: bytes = b""

    def message(self) -> bytes:
        return pae(
            label("member-revoke"),
            I(self.practice_id),
            I(self.user_id),
            B(self.aik_id),
            U(self.revoked_at),
            T(self.reason),
        )


def check_cert_fields(cert: MemberCert) -> None:
    if cert.role not in ROLES or cert.reason not in REASONS or cert.issuer_kind not in ISSUER_KINDS:
        raise SchemaError("certificate role, reason or issuer_kind is not a known value")


def check_issuer_rule(cert: MemberCert) -> None:
    if cert.issuer_kind == "member" and cert.role != "client":
        # Only the PRSK may certify staff, so staff certificates always need an admin browser.
        raise CertError("a member-issued certificate may only certify a client")


def issue_cert(
    issuer: Ed25519PrivateKey,
    *,
    issuer_kind: str,
    practice_id: uuid.UUID,
    user_id: uuid.UUID,
    role: str,
    aik_pub: bytes,
    valid_from: int,
    reason: str,
) -> MemberCert:
    unsigned = MemberCert(
        practice_id,
        user_id,
        role,
        aik_pub,
        valid_from,
        reason,
        issuer_kind,
        kid("ed25519", raw_public(issuer)),
    )
    check_cert_fields(unsigned)
    check_issuer_rule(unsigned)
    return MemberCert(
        practice_id,
        user_id,
        role,
        aik_pub,
        valid_from,
        reason,
        issuer_kind,
        unsigned.issuer_key_id,
        sign(issuer, unsigned.message()),
    )


def revoke(
    signer: Ed25519PrivateKey,
    *,
    practice_id: uuid.UUID,
    user_id: uuid.UUID,
    aik_id: bytes,
    revoked_at: int,
    reason: str,
) -> MemberRevocation:
    signer_id = kid("ed25519", raw_public(signer))
    unsigned = MemberRevocation(practice_id, user_id, aik_id, revoked_at, reason, signer_id)
    return MemberRevocation(
        practice_id,
        user_id,
        aik_id,
        revoked_at,
        reason,
        signer_id,
        sign(signer, unsigned.message()),
    )


@dataclass(slots=True)
class Directory:
    """What a verifier knows about one practice: the pinned PRSK, certificates and revocations.

    It holds only public, signed data; every lookup re-verifies, so it may be filled straight from
    the (untrusted) server.
    """

    practice_id: uuid.UUID
    prsk_pub: bytes
    certs: list[MemberCert] = field(default_factory=list)
    revocations: list[MemberRevocation] = field(default_factory=list)

    @property
    def prsk_id(self) -> bytes:
        return kid("ed25519", self.prsk_pub)

    def revoked_at(self, cert: MemberCert) -> int | None:
        """Earliest valid revocation of ``cert``'s AIK, signed by the PRSK or the cert's issuer."""
        earliest: int | None = None
        for rev in self.revocations:
            if rev.practice_id != self.practice_id or rev.user_id != cert.user_id:
                continue
            if rev.aik_id != cert.aik_id:
                continue
            signer = self._revocation_signer(rev, cert)
            if signer is None:
                continue
            try:
                verify(signer, rev.sig, rev.message())
            except SignatureError:
                continue  # a forged revocation must not be able to revoke anyone
            if earliest is None or rev.revoked_at < earliest:
                earliest = rev.revoked_at
        return earliest

    def _revocation_signer(self, rev: MemberRevocation, cert: MemberCert) -> bytes | None:
        if rev.signer_key_id == self.prsk_id:
            return self.prsk_pub
        if rev.signer_key_id == cert.issuer_key_id and cert.issuer_kind == "member":
            issuer = self._issuer_certs(cert.issuer_key_id)
            return issuer[0].aik_pub if issuer else None
        return None

    def _issuer_certs(self, issuer_key_id: bytes) -> list[MemberCert]:
        return [
            c
            for c in self.certs
            if c.aik_id == issuer_key_id and c.issuer_kind == "prsk" and c.role in STAFF_ROLES
        ]

    def verify_cert(self, cert: MemberCert, at: int | None = None) -> None:
        """Full chain check of one certificate (``E_CERT``); ``at`` also checks revocation."""
        if cert.practice_id != self.practice_id:
            raise CertError("certificate from another practice")
        try:
            check_cert_fields(cert)
        except SchemaError as exc:
            raise CertError(exc.message) from exc
        check_issuer_rule(cert)
        if cert.issuer_kind == "prsk":
            if cert.issuer_key_id != self.prsk_id:
                raise CertError("certificate issued by another PRSK")
            verify(self.prsk_pub, cert.sig, cert.message(), CertError)
        else:
            # Chains are at most two deep: the issuer's own cert must be PRSK-issued staff, valid
            # at the subject's valid_from (so a departing therapist does not orphan their clients).
            valid_issuer = False
            for issuer in self._issuer_certs(cert.issuer_key_id):
                try:
                    self.verify_cert(issuer, at=cert.valid_from)
                    verify(issuer.aik_pub, cert.sig, cert.message(), CertError)
                except CertError:
                    continue
                valid_issuer = True
                break
            if not valid_issuer:
                raise CertError("no valid staff certificate for the issuer")
        if at is not None:
            if at < cert.valid_from:
                raise CertError("certificate not yet valid at that time")
            revoked_at = self.revoked_at(cert)
            if revoked_at is not None and at >= revoked_at:
                raise CertError("certificate revoked at that time")

    def certified_aik(self, user_id: uuid.UUID, aik_id: bytes, at: int | None = None) -> MemberCert:
        """A certificate for ``user_id``'s AIK ``aik_id`` that chains to the PRSK (``E_CERT``)."""
        last_error: CertError | None = None
        for cert in self.certs:
            if cert.user_id != user_id or cert.aik_id != aik_id:
                continue
            try:
                self.verify_cert(cert, at)
            except CertError as exc:
                last_error = exc
                continue
            return cert
        if last_error is not None:
            raise last_error
        raise CertError("no certificate for this AIK")

    def aik_pubs(self, user_id: uuid.UUID) -> list[bytes]:
        """Every AIK of ``user_id`` with a valid chain (revoked ones included, for old data)."""
        out: list[bytes] = []
        for cert in self.certs:
            if cert.user_id != user_id or cert.aik_pub in out:
                continue
            try:
                self.verify_cert(cert)
            except CertError:
                continue
            out.append(cert.aik_pub)
        return out


def verify_revocation(rev: MemberRevocation, directory: Directory) -> None:
    """Server side before storing a revocation: it must verify under the PRSK or the issuer."""
    if rev.practice_id != directory.practice_id:
        raise CertError("revocation from another practice")
    for cert in directory.certs:
        if cert.user_id == rev.user_id and cert.aik_id == rev.aik_id:
            signer = directory._revocation_signer(rev, cert)  # noqa: SLF001 - same module's helper
            if signer is not None:
                verify(signer, rev.sig, rev.message(), CertError)
                return
    raise CertError("revocation signed by neither the PRSK nor the certificate's issuer")


# -- prsk_wrap (§6.1) ----------------------------------------------------------------------------


def prsk_wrap_info(
    practice_id: uuid.UUID, admin_user_id: uuid.UUID, aek_id: bytes, prsk_id: bytes
) -> bytes:
    return pae(label("prsk-wrap"), I(practice_id), I(admin_user_id), B(aek_id), B(prsk_id))


def seal_prsk_wrap(
    admin_aek_pub: bytes,
    prsk: Ed25519PrivateKey,
    *,
    practice_id: uuid.UUID,
    admin_user_id: uuid.UUID,
    hpke: HpkeSealer = hpke_seal,
) -> bytes:
    info = prsk_wrap_info(
        practice_id,
        admin_user_id,
        kid("x25519", admin_aek_pub),
        kid("ed25519", raw_public(prsk)),
    )
    return hpke(admin_aek_pub, info, pkcs8_encode(prsk))


def open_prsk_wrap(
    admin_aek: X25519PrivateKey,
    wrap: bytes,
    *,
    practice_id: uuid.UUID,
    admin_user_id: uuid.UUID,
    prsk_pub: bytes,
) -> Ed25519PrivateKey:
    info = prsk_wrap_info(
        practice_id,
        admin_user_id,
        kid("x25519", raw_public(admin_aek)),
        kid("ed25519", prsk_pub),
    )
    prsk = pkcs8_decode_ed25519(hpke_open(admin_aek, info, wrap))
    if raw_public(prsk) != prsk_pub:
        raise CertError("prsk_wrap holds another key than the pinned PRSK")
    return prsk
