"""A throwaway `redis-server` on a free loopback port, for tests that run several server
processes sharing one channel layer and cache (QUIETROOM_REDIS_URL).

No persistence (no RDB snapshots, no append-only file): the server lives for one test and leaves
nothing behind. When `redis-server` is not installed the test FAILS with the command to install
it; a multi-worker test that silently skipped would hide a broken deployment mode.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.conf import settings

from tests.harness.server import free_port, stop_process

INSTALL_HINT = "redis-server is not installed: apt-get install redis-server (scripts/test does)"


@dataclass
class RedisServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        stop_process(self.process)


def _answers_ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def start_redis(work_dir: Path) -> RedisServer:
    """Start redis-server on a free loopback port; raise RuntimeError if it is missing or
    does not answer PING within 10 s."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(INSTALL_HINT)
    port = free_port()
    folder = work_dir / f"redis-{port}"
    folder.mkdir(parents=True, exist_ok=True)
    log_path = folder / "redis.log"
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                binary, "--port", str(port), "--bind", "127.0.0.1", "--protected-mode", "yes",
                "--save", "", "--appendonly", "no", "--dir", str(folder),
                "--daemonize", "no", "--loglevel", "warning",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = RedisServer(process, port, log_path)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited at start; see {log_path}")
        if _answers_ping(port):
            return server
        time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"redis-server did not answer PING within 10 s; see {log_path}")


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    """A fresh Redis for one test; fails (never skips) when redis-server is missing."""
    try:
        server = start_redis(settings.CONFIG.data_dir / "redis")
    except RuntimeError as error:
        pytest.fail(str(error), pytrace=False)
    yield server
    server.stop()
