"""People. Sign-in (allauth) and keys arrive with the accounts capability; the table is here
first because Django's user model cannot be swapped once migrations exist."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager
from django.db import models

from quietroom.crypto.password import DEFAULT_KDF, M_MAX, M_MIN, T_MAX, T_MIN


class UserManager(BaseUserManager["User"]):
    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("an email address is required")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)  # None gives an unusable password
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """One person. No superuser or staff flags: admin rights come from a practice role."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    display_name = models.CharField(max_length=120, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    objects: ClassVar[UserManager] = UserManager()

    def __str__(self) -> str:
        return str(self.id)  # never the email: str() ends up in logs


class KdfParams(models.Model):
    """A person's Argon2id salt and parameters, served at prelogin (§3.1). The salt is fixed
    at account creation and never changes, not even when the email does."""

    user = models.OneToOneField(
        User, primary_key=True, on_delete=models.CASCADE, related_name="kdf_params"
    )
    salt = models.CharField(max_length=22)  # 16 bytes, base64url without padding
    m = models.PositiveIntegerField(default=DEFAULT_KDF.m)  # KiB
    t = models.PositiveSmallIntegerField(default=DEFAULT_KDF.t)
    p = models.PositiveSmallIntegerField(default=DEFAULT_KDF.p)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # The bounds of §3.2: the browser refuses anything outside them, so the server must
        # never store it (a malicious or buggy writer would otherwise hand out weak parameters).
        constraints = [
            models.CheckConstraint(
                condition=models.Q(m__gte=M_MIN, m__lte=M_MAX), name="kdf_m_in_bounds"
            ),
            models.CheckConstraint(
                condition=models.Q(t__gte=T_MIN, t__lte=T_MAX), name="kdf_t_in_bounds"
            ),
            models.CheckConstraint(condition=models.Q(p=1), name="kdf_p_is_one"),
        ]

    def __str__(self) -> str:
        return f"kdf:{self.user_id}"
