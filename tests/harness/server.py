"""Start Quietroom under uvicorn in a subprocess, as production does, on the test database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def shared_database_url() -> str:
    """The URL of the database pytest-django created, for another process to open."""
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{db['NAME']}"
    password = db.get("PASSWORD") or ""
    return f"postgres://{db['USER']}:{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ends a helper process: politely, then for sure after 10 s."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@dataclass
class AppServer:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        # `localhost`, not 127.0.0.1: WebAuthn refuses an IP address as the relying party, and
        # owners and admins must add a passkey (AU-01). It is also the configured public URL.
        return f"http://localhost:{self.port}"

    def stop(self) -> None:
        stop_process(self.process)


def start_app_server(data_dir: Path, extra_env: dict[str, str] | None = None) -> AppServer:
    port = free_port()
    log_path = data_dir / "logs" / f"uvicorn-{port}.log"
    # The server runs as in production: without the test process's async-safety override.
    env = {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "QUIETROOM_DATA_DIR": str(data_dir),
        "QUIETROOM_DATABASE_URL": shared_database_url(),
        "QUIETROOM_PORT": str(port),
        "QUIETROOM_PUBLIC_URL": f"http://localhost:{port}",
        **(extra_env or {}),
    }
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "quietroom.asgi:application",
                "--host", "127.0.0.1", "--port", str(port),
                "--no-server-header", "--log-level", "warning", "--lifespan", "off",
                "--ws-per-message-deflate", "false",  # as `quietroom serve` (cli.py)
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    server = AppServer(process, port, log_path)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited at start; see {log_path}")
        try:
            with urllib.request.urlopen(f"{server.url}/api/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return server
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the server did not answer within 30 s; see {log_path}")
