"""Configuration is parsed strictly: a bad value is a clear error naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from quietroom.config import ConfigError, load_config, secret_file


def env(tmp_path: Path, **values: str) -> dict[str, str]:
    return {"QUIETROOM_DATA_DIR": str(tmp_path / "data"), **values}


def test_defaults_are_safe(tmp_path: Path) -> None:
    config = load_config(env(tmp_path))
    assert config.debug is False
    assert config.public_url == "http://localhost:8000"  # WebAuthn refuses IP addresses
    assert config.tls is False
    assert config.database_url is None  # SQLite in the data folder
    assert config.redis_url is None  # in-process channel layer
    assert config.database_path == tmp_path / "data" / "quietroom.sqlite3"
    assert config.blob_dir.is_dir()
    assert (config.idle_staff_minutes, config.idle_client_minutes) == (15, 30)


def test_secret_key_is_generated_once_with_owner_only_permissions(tmp_path: Path) -> None:
    first = load_config(env(tmp_path)).secret_key
    key_file = tmp_path / "data" / "secret_key"
    assert key_file.stat().st_mode & 0o777 == 0o600
    assert len(first) >= 50
    assert load_config(env(tmp_path)).secret_key == first


def test_world_readable_secret_key_is_refused(tmp_path: Path) -> None:
    load_config(env(tmp_path))
    (tmp_path / "data" / "secret_key").chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config(env(tmp_path))


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("QUIETROOM_DEBUG", "maybe", "QUIETROOM_DEBUG: expected true or false"),
        ("QUIETROOM_PORT", "eighty", "QUIETROOM_PORT: expected a whole number"),
        ("QUIETROOM_PORT", "70000", "QUIETROOM_PORT: must be between 1 and 65535"),
        ("QUIETROOM_MAX_REQUEST_BYTES", "10", "QUIETROOM_MAX_REQUEST_BYTES: must be between"),
        ("QUIETROOM_PUBLIC_URL", "ftp://x", "QUIETROOM_PUBLIC_URL: expected http"),
        ("QUIETROOM_PUBLIC_URL", "http://therapy.example.org", "plain http is allowed only"),
        ("QUIETROOM_PUBLIC_URL", "https://x.example/sub", "must not have a path"),
        ("QUIETROOM_DATABASE_URL", "mysql://db/x", "QUIETROOM_DATABASE_URL: expected a URL"),
        ("QUIETROOM_REDIS_URL", "http://redis", "QUIETROOM_REDIS_URL: expected a URL"),
        ("QUIETROOM_SECRET_KEY", "short", "QUIETROOM_SECRET_KEY: too short"),
        ("QUIETROOM_LOG_LEVEL", "LOUD", "QUIETROOM_LOG_LEVEL: expected one of"),
        ("QUIETROOM_EMAIL_URL", "imap://mail", "QUIETROOM_EMAIL_URL: expected smtp://"),
        ("QUIETROOM_HSTS_SECONDS", "60", "QUIETROOM_HSTS_SECONDS: must be between"),
        # Automatic logoff may be shortened, never lengthened past AU-08's 15 and 30 minutes.
        ("QUIETROOM_IDLE_STAFF_MINUTES", "16", "QUIETROOM_IDLE_STAFF_MINUTES: must be between"),
        ("QUIETROOM_IDLE_CLIENT_MINUTES", "31", "QUIETROOM_IDLE_CLIENT_MINUTES: must be between"),
        ("QUIETROOM_IDLE_CLIENT_MINUTES", "1", "QUIETROOM_IDLE_CLIENT_MINUTES: must be between"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(env(tmp_path, **{name: value}))


def test_a_practice_may_shorten_automatic_logoff(tmp_path: Path) -> None:
    values = {"QUIETROOM_IDLE_STAFF_MINUTES": "5", "QUIETROOM_IDLE_CLIENT_MINUTES": "10"}
    config = load_config(env(tmp_path, **values))
    assert (config.idle_staff_minutes, config.idle_client_minutes) == (5, 10)


def test_secret_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("k" * 64 + "\n")
    config = load_config(env(tmp_path, QUIETROOM_SECRET_KEY_FILE=str(secret)))
    assert config.secret_key == "k" * 64


def test_value_and_file_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("k" * 64)
    with pytest.raises(ConfigError, match="both set"):
        load_config(
            env(tmp_path, QUIETROOM_SECRET_KEY="k" * 64, QUIETROOM_SECRET_KEY_FILE=str(secret))
        )


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="QUIETROOM_SECRET_KEY_FILE: cannot read"):
        load_config(env(tmp_path, QUIETROOM_SECRET_KEY_FILE=str(tmp_path / "missing")))


def test_https_public_url_turns_on_tls_mode(tmp_path: Path) -> None:
    config = load_config(env(tmp_path, QUIETROOM_PUBLIC_URL="https://therapy.example.org"))
    assert config.tls is True
    assert config.public_host == "therapy.example.org"


def test_server_refuses_to_start_with_bad_configuration(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "quietroom.cli", "check"],
        env={**os.environ, **env(tmp_path, QUIETROOM_PORT="not-a-port")},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "configuration error: QUIETROOM_PORT: expected a whole number" in result.stderr
    assert "Traceback" not in result.stderr


def test_secret_files_made_at_once_by_several_workers_agree(tmp_path: Path) -> None:
    path = tmp_path / "key"
    results: list[bytes] = []
    start = threading.Barrier(8)

    def worker() -> None:
        start.wait()
        results.append(
            secret_file(path, make=lambda: os.urandom(32), usable=lambda raw: len(raw) == 32)
        )

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8
    assert len(set(results)) == 1
    assert path.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key"]  # no temporary files left


def test_a_damaged_secret_file_stops_the_server(tmp_path: Path) -> None:
    path = tmp_path / "key"
    path.write_bytes(b"short")
    path.chmod(0o600)
    with pytest.raises(ConfigError, match="does not hold a usable secret"):
        secret_file(path, make=lambda: os.urandom(32), usable=lambda raw: len(raw) == 32)
