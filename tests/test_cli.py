"""The `quietroom` command: help, serve on embedded defaults, and a clean deploy check."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from quietroom.practices.services import hash_token
from tests.harness.server import free_port


def embedded_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("QUIETROOM_") and k != "DJANGO_ALLOW_ASYNC_UNSAFE"
    }
    return {**env, "QUIETROOM_DATA_DIR": str(tmp_path / "data"), **extra}


def quietroom(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "quietroom.cli", *args],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_help_reads_well() -> None:
    result = quietroom("--help", env=dict(os.environ))
    assert result.returncode == 0
    for command in ("serve", "check", "setup-link", "manage"):
        assert command in result.stdout
    assert "QUIETROOM_" in result.stdout


def test_check_is_clean_in_production_mode(tmp_path: Path) -> None:
    result = quietroom(
        "check", env=embedded_env(tmp_path, QUIETROOM_PUBLIC_URL="https://therapy.example.org")
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout + result.stderr


def _read_until(process: subprocess.Popen[str], pattern: str, seconds: float) -> str:
    assert process.stdout is not None
    seen = ""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen += line
        if re.search(pattern, seen):
            return seen
    raise AssertionError(f"did not see {pattern!r} in: {seen}")


def test_serve_on_embedded_defaults_prints_url_and_setup_link(tmp_path: Path) -> None:
    port = free_port()
    env = embedded_env(tmp_path, QUIETROOM_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "quietroom.cli", "serve"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        out = _read_until(process, r"Quietroom is running at http://localhost:\d+", 60)
        match = re.search(r"/setup#token=([A-Za-z0-9_-]+)", out)
        assert match, out
        token = match.group(1)
        body = b""
        for _ in range(50):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as response:
                    body = response.read()
                    break
            except OSError:
                time.sleep(0.2)
        assert b'<div id="root">' in body
    finally:
        process.terminate()
        process.wait(timeout=10)

    data = tmp_path / "data"
    assert (data / "secret_key").stat().st_mode & 0o777 == 0o600
    assert (data / "quietroom.sqlite3").stat().st_mode & 0o777 == 0o600
    with sqlite3.connect(data / "quietroom.sqlite3") as db:
        rows = db.execute("SELECT token_hash, revoked_at FROM practices_setuplink").fetchall()
    assert rows == [(hash_token(token), None)]  # only a hash is stored, never the token

    # A new link revokes the old one: only the link printed last can claim the practice.
    again = quietroom("setup-link", env=embedded_env(tmp_path))
    assert again.returncode == 0
    with sqlite3.connect(data / "quietroom.sqlite3") as db:
        revoked = db.execute(
            "SELECT revoked_at IS NOT NULL FROM practices_setuplink WHERE token_hash = ?",
            (hash_token(token),),
        ).fetchone()
    assert revoked == (1,)


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    result = quietroom("serve", env=embedded_env(tmp_path, QUIETROOM_WORKERS="2"))
    assert result.returncode == 2
    assert "QUIETROOM_WORKERS > 1 needs" in result.stderr
