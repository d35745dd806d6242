"""Prelogin (crypto-protocol.md §3.1): the salt and Argon2id parameters a browser needs before
it can derive the authKey it signs in with.

An account's existence reveals that someone is in therapy (AU-03), so every email, known or
not, gets an answer of the same shape from the same work: one database lookup and one HMAC.
An unknown email's salt is the formula's, which is exactly what the account's salt would be if
it were created now; so nothing changes at signup either.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Q

from quietroom.accounts.models import KdfParams, User
from quietroom.core import keyfiles
from quietroom.crypto.encoding import b64url_encode
from quietroom.crypto.password import DEFAULT_KDF, prelogin_salt


@dataclass(frozen=True)
class PreloginAnswer:
    salt: str  # base64url, 16 bytes
    m: int
    t: int
    p: int


def normalize_email(email: str) -> str:
    """allauth's lookup form: its email field strips surrounding whitespace, then
    `filter_users_by_email` compares `email.lower()`."""
    return email.strip().lower()


def _by_email(normalized: str, prefix: str = "") -> Q:
    # The addresses allauth signs in with: the account's email or any of its email addresses.
    return Q(**{f"{prefix}email": normalized}) | Q(**{f"{prefix}emailaddress__email": normalized})


def find_account(email: str) -> User | None:
    return User.objects.filter(_by_email(normalize_email(email))).first()


def formula_salt(email: str) -> str:
    secret = keyfiles.key_bytes(keyfiles.PRELOGIN_SECRET)
    return b64url_encode(prelogin_salt(secret, normalize_email(email)))


def prelogin(email: str) -> PreloginAnswer:
    normalized = normalize_email(email)
    salt = formula_salt(normalized)  # computed for every email, so the work does not differ
    stored = (
        KdfParams.objects.filter(_by_email(normalized, "user__"))
        .values_list("salt", "m", "t", "p")
        .first()
    )
    if stored is None:
        return PreloginAnswer(salt, DEFAULT_KDF.m, DEFAULT_KDF.t, DEFAULT_KDF.p)
    return PreloginAnswer(*stored)


def create_kdf_params(user: User) -> KdfParams:
    """Fix the account's salt at creation, from the email it was created with (§3.1)."""
    params, _ = KdfParams.objects.get_or_create(
        user=user, defaults={"salt": formula_salt(user.email)}
    )
    return params
