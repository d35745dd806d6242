"""The only password the server accepts is an authKey (crypto-protocol.md §3.4, §3.5): 32
bytes derived in the browser, sent as 43 characters of unpadded base64url. The real password
never leaves the browser, so its strength rules (AU-04) run there."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from quietroom.accounts.models import User
from quietroom.crypto.encoding import b64url_decode
from quietroom.crypto.errors import EncodingError

AUTH_KEY_LENGTH = 43
MESSAGE = (
    "The password must be the 43-character key your browser derives from it; "
    "this server never accepts a password itself."
)


def is_auth_key(value: object) -> bool:
    if not isinstance(value, str) or len(value) != AUTH_KEY_LENGTH:
        return False
    try:
        b64url_decode(value, 32)  # strict: also refuses non-zero trailing bits
    except EncodingError:
        return False
    return True


class AuthKeyValidator:
    """Django password validator (AUTH_PASSWORD_VALIDATORS) accepting only an authKey."""

    def validate(self, password: str, user: User | None = None) -> None:
        if not is_auth_key(password):
            raise ValidationError(MESSAGE, code="not_an_auth_key")

    def get_help_text(self) -> str:
        return MESSAGE
