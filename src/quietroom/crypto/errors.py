"""Typed protocol errors (crypto-protocol.md §2.6).

Every failed check raises one of these, never returns a fallback value. The ``code`` is shared with
the TypeScript side so that negative test vectors can name the expected failure.
"""

from __future__ import annotations

from typing import ClassVar


class CryptoError(Exception):
    """Base of every protocol error; ``code`` is one of the ``E_*`` strings of §2.6."""

    code: ClassVar[str] = "E_CRYPTO"

    def __init__(self, message: str) -> None:
        super().__init__(f"{self.code}: {message}")
        self.message = message


class EnvelopeError(CryptoError):
    """Bad untrusted input at the decoding layer: schema, encoding or suite.

    The fuzz target catches exactly this class, so every decoder failure must be one of its
    subclasses.
    """

    code = "E_SCHEMA"


class SuiteError(EnvelopeError):
    code = "E_SUITE"


class EncodingError(EnvelopeError):
    code = "E_ENCODING"


class SchemaError(EnvelopeError):
    code = "E_SCHEMA"


class KdfParamsError(CryptoError):
    code = "E_KDF_PARAMS"


class UnlockError(CryptoError):
    code = "E_UNLOCK"


class CertError(CryptoError):
    code = "E_CERT"


class PinChangedError(CryptoError):
    code = "E_PIN_CHANGED"


class RollbackError(CryptoError):
    code = "E_ROLLBACK"


class SignatureError(CryptoError):
    code = "E_SIG"


class ChainError(CryptoError):
    code = "E_CHAIN"


class NotRecipientError(CryptoError):
    code = "E_NOT_RECIPIENT"


class WrapError(CryptoError):
    code = "E_WRAP"


class CommitError(CryptoError):
    code = "E_COMMIT"


class BodyError(CryptoError):
    code = "E_BODY"


class TruncatedError(CryptoError):
    code = "E_TRUNCATED"


class FingerprintError(CryptoError):
    code = "E_FINGERPRINT"


ALL_CODES: tuple[str, ...] = (
    "E_SUITE",
    "E_ENCODING",
    "E_SCHEMA",
    "E_KDF_PARAMS",
    "E_UNLOCK",
    "E_CERT",
    "E_PIN_CHANGED",
    "E_ROLLBACK",
    "E_SIG",
    "E_CHAIN",
    "E_NOT_RECIPIENT",
    "E_WRAP",
    "E_COMMIT",
    "E_BODY",
    "E_TRUNCATED",
    "E_FINGERPRINT",
)
