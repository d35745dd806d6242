"""Configuration from environment variables, parsed strictly.

Every setting Quietroom reads comes through `load_config`. A bad value stops the server at start
with a message naming the variable, because a half-understood configuration is how private data
ends up exposed. Secrets may also come from `NAME_FILE` (a path), so they need not sit in the
process environment. Documented in docs/self-hosting/configuration.md.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "QUIETROOM_"
REPO_ROOT = Path(__file__).resolve().parents[2]
SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name, not a secret


class ConfigError(Exception):
    """A configuration value Quietroom cannot use; the message names the variable."""


@dataclass(frozen=True)
class Config:
    data_dir: Path
    debug: bool
    public_url: str
    host: str
    port: int
    database_url: str | None
    redis_url: str | None
    secret_key: str
    max_request_bytes: int
    web_dist: Path
    trusted_proxy: bool
    workers: int
    access_log: bool
    hsts_seconds: int
    log_level: str
    email_url: str
    default_from_email: str
    audit_syslog_url: str | None
    audit_retention_days: int
    invitation_days: int
    idle_staff_minutes: int
    idle_client_minutes: int
    attachment_max_mib: int

    @property
    def tls(self) -> bool:
        return self.public_url.startswith("https://")

    @property
    def public_host(self) -> str:
        return urlsplit(self.public_url).hostname or ""

    @property
    def database_path(self) -> Path:
        return self.data_dir / "quietroom.sqlite3"

    @property
    def blob_dir(self) -> Path:
        return self.data_dir / "blobs"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"


def _raw(env: Mapping[str, str], name: str) -> str | None:
    """The variable's value, or the content of the file named by NAME_FILE; never both."""
    value = env.get(name)
    file_name = env.get(f"{name}_FILE")
    if value is not None and file_name is not None:
        raise ConfigError(f"{name} and {name}_FILE are both set; set only one")
    if file_name is not None:
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{name}_FILE: cannot read {file_name!r} ({exc.strerror})") from exc
    return value


def _bool(env: Mapping[str, str], name: str, *, default: bool) -> bool:
    raw = _raw(env, name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name}: expected true or false, got {raw!r}")


def _int(env: Mapping[str, str], name: str, *, default: int, low: int, high: int) -> int:
    raw = _raw(env, name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw.strip(), 10)
    except ValueError:
        raise ConfigError(f"{name}: expected a whole number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name}: must be between {low} and {high}, got {value}")
    return value


def _choice(env: Mapping[str, str], name: str, *, default: str, choices: set[str]) -> str:
    raw = _raw(env, name)
    if raw is None or raw == "":
        return default
    value = raw.strip().upper()
    if value not in choices:
        raise ConfigError(f"{name}: expected one of {', '.join(sorted(choices))}, got {raw!r}")
    return value


def _url(env: Mapping[str, str], name: str, *, schemes: set[str]) -> str | None:
    raw = _raw(env, name)
    if raw is None or raw == "":
        return None
    parts = urlsplit(raw.strip())
    if parts.scheme not in schemes:
        expected = " or ".join(sorted(f"{s}://" for s in schemes))
        raise ConfigError(f"{name}: expected a URL starting with {expected}")
    if parts.scheme != "sqlite" and not parts.hostname and not parts.path:
        raise ConfigError(f"{name}: the URL names no host")
    return raw.strip()


def _public_url(env: Mapping[str, str], host: str, port: int) -> str:
    raw = _raw(env, f"{PREFIX}PUBLIC_URL")
    if raw is None or raw == "":
        # `localhost` rather than an IP address: browsers refuse passkeys (WebAuthn) on an IP
        # address, and owners and admins must add one during onboarding (AU-01).
        loopback = {"127.0.0.1", "0.0.0.0", "::", "::1", "localhost"}  # noqa: S104 - only a label
        shown_host = "localhost" if host in loopback else host
        return f"http://{shown_host}:{port}"
    parts = urlsplit(raw.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigError(f"{PREFIX}PUBLIC_URL: expected http(s)://host[:port], got {raw!r}")
    if parts.path not in {"", "/"} or parts.query or parts.fragment:
        raise ConfigError(f"{PREFIX}PUBLIC_URL: must not have a path, query or fragment")
    if parts.scheme == "http" and parts.hostname not in {"127.0.0.1", "localhost", "::1"}:
        # Plain HTTP is only acceptable where traffic never leaves the machine.
        raise ConfigError(
            f"{PREFIX}PUBLIC_URL: plain http is allowed only for 127.0.0.1 or localhost; "
            "put Quietroom behind TLS (see docs/self-hosting/) and use https://"
        )
    return f"{parts.scheme}://{parts.netloc}"


def _secret_key(env: Mapping[str, str], data_dir: Path) -> str:
    raw = _raw(env, f"{PREFIX}SECRET_KEY")
    if raw is not None and raw != "":
        if len(raw) < 50:
            raise ConfigError(f"{PREFIX}SECRET_KEY: too short; use at least 50 random characters")
        return raw
    value = secret_file(
        data_dir / SECRET_KEY_FILE,
        make=lambda: secrets.token_urlsafe(48).encode("ascii") + b"\n",
        usable=lambda raw: len(raw.strip()) >= 50,
    )
    return value.decode("ascii").strip()


def secret_file(path: Path, *, make: Callable[[], bytes], usable: Callable[[bytes], bool]) -> bytes:
    """A generated secret kept in its own owner-only (0600) file: read it, or create it once.

    Creation is atomic: the secret is written and flushed to a private temporary file, then
    hard-linked into place, so a second worker starting at the same moment reads either nothing
    (and links its own, which loses) or the whole secret, never half of it. A file readable by
    others, or one that does not hold a usable secret, stops the server: silently making a new
    one would break whatever the old one protected.
    """
    if not path.exists():
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(make())
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process was first: use theirs
                os.link(temporary, path)
        finally:
            temporary.unlink()
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise ConfigError(
            f"{path} is readable by other users (mode {mode:o}); run: chmod 600 {path}"
        )
    value = path.read_bytes()
    if not usable(value):
        raise ConfigError(f"{path} does not hold a usable secret; restore it from backup")
    return value


def load_config(env: Mapping[str, str] | None = None) -> Config:
    env = os.environ if env is None else env
    data_raw = _raw(env, f"{PREFIX}DATA_DIR")
    data_dir = Path(data_raw).expanduser() if data_raw else REPO_ROOT / "data"
    if not data_dir.is_absolute():
        data_dir = Path.cwd() / data_dir
    host = (_raw(env, f"{PREFIX}HOST") or "127.0.0.1").strip()
    port = _int(env, f"{PREFIX}PORT", default=8000, low=1, high=65535)
    public_url = _public_url(env, host, port)
    web_dist_raw = _raw(env, f"{PREFIX}WEB_DIST")
    try:
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        for sub in ("blobs", "logs"):
            (data_dir / sub).mkdir(mode=0o700, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"{PREFIX}DATA_DIR: cannot create {data_dir} ({exc.strerror})") from exc
    return Config(
        data_dir=data_dir,
        debug=_bool(env, f"{PREFIX}DEBUG", default=False),
        public_url=public_url,
        host=host,
        port=port,
        database_url=_url(
            env, f"{PREFIX}DATABASE_URL", schemes={"postgres", "postgresql", "sqlite"}
        ),
        redis_url=_url(env, f"{PREFIX}REDIS_URL", schemes={"redis", "rediss", "unix"}),
        secret_key=_secret_key(env, data_dir),
        max_request_bytes=_int(
            env, f"{PREFIX}MAX_REQUEST_BYTES", default=1024 * 1024, low=1024, high=64 * 1024 * 1024
        ),
        web_dist=Path(web_dist_raw) if web_dist_raw else REPO_ROOT / "web" / "dist",
        trusted_proxy=_bool(env, f"{PREFIX}TRUSTED_PROXY", default=False),
        workers=_int(env, f"{PREFIX}WORKERS", default=1, low=1, high=64),
        access_log=_bool(env, f"{PREFIX}ACCESS_LOG", default=False),
        hsts_seconds=_int(
            env, f"{PREFIX}HSTS_SECONDS", default=63_072_000, low=31_536_000, high=63_072_000
        ),
        log_level=_choice(
            env, f"{PREFIX}LOG_LEVEL", default="INFO", choices={"DEBUG", "INFO", "WARNING", "ERROR"}
        ),
        email_url=_email_url(env),
        default_from_email=(_raw(env, f"{PREFIX}EMAIL_FROM") or "quietroom@localhost").strip(),
        audit_syslog_url=_url(env, f"{PREFIX}AUDIT_SYSLOG_URL", schemes={"tcp"}),
        # Six years by default (HIPAA's documentation retention); never less than one.
        audit_retention_days=_int(
            env, f"{PREFIX}AUDIT_RETENTION_DAYS", default=2192, low=365, high=36_500
        ),
        invitation_days=_int(env, f"{PREFIX}INVITATION_DAYS", default=7, low=1, high=30),
        # A practice may shorten automatic logoff, never lengthen it past AU-08's limits.
        idle_staff_minutes=_int(env, f"{PREFIX}IDLE_STAFF_MINUTES", default=15, low=2, high=15),
        idle_client_minutes=_int(env, f"{PREFIX}IDLE_CLIENT_MINUTES", default=30, low=2, high=30),
        # The largest message attachment (plaintext), in MiB.
        attachment_max_mib=_int(env, f"{PREFIX}ATTACHMENT_MAX_MIB", default=100, low=1, high=4096),
    )


def _email_url(env: Mapping[str, str]) -> str:
    raw = _raw(env, f"{PREFIX}EMAIL_URL")
    if raw is None or raw == "":
        return "outbox:"
    parts = urlsplit(raw.strip())
    if parts.scheme not in {"smtp", "smtps", "smtp+starttls", "outbox"}:
        raise ConfigError(
            f"{PREFIX}EMAIL_URL: expected smtp://, smtps://, smtp+starttls:// or outbox:, got "
            f"{parts.scheme!r}"
        )
    if parts.scheme != "outbox" and not parts.hostname:
        raise ConfigError(f"{PREFIX}EMAIL_URL: the URL names no host")
    return raw.strip()
