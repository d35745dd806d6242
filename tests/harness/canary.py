"""The plaintext canary scanner.

Files are read in a separate process: opening and closing the live SQLite file from the test
process would drop that process's POSIX locks on it (they are per process, not per handle), and
the server could then checkpoint and delete a WAL file the tests still use.

A test types a unique string (a canary) into the product, then asks: does that string appear
anywhere the server keeps things? The scanner searches every file under the data folder
(database and its WAL, blobs, logs, outbox, backups, exports), any extra paths, and a
PostgreSQL dump when the suite runs on PostgreSQL, for the canary as UTF-8, UTF-16 (both byte
orders), hex, and base64 (standard and URL-safe, at every alignment, so a canary inside a
larger base64 value is still found). Every hit is reported with where it was and in what form.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Hit:
    where: str
    form: str

    def __str__(self) -> str:
        return f"{self.where} ({self.form})"


def _base64_cores(raw: bytes) -> list[tuple[str, bytes]]:
    """Base64 text of `raw` as it appears inside a longer encoded value, at each of the three
    byte alignments: the characters that depend on neighbouring bytes are trimmed off."""
    forms: list[tuple[str, bytes]] = []
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        head = (shift * 8 + 5) // 6  # characters touched by the padding bytes
        tail_bits = ((shift + len(raw)) * 8) % 6
        core = encoded.rstrip(b"=")[head:]
        if tail_bits:
            core = core[:-1]
        if len(core) >= 8:
            forms.append((f"base64@{shift}", core))
            forms.append((f"base64url@{shift}", core.replace(b"+", b"-").replace(b"/", b"_")))
    return forms


def encodings(canary: str) -> list[tuple[str, bytes]]:
    raw = canary.encode("utf-8")
    forms = [
        ("utf-8", raw),
        ("utf-16-le", canary.encode("utf-16-le")),
        ("utf-16-be", canary.encode("utf-16-be")),
        ("hex", binascii.hexlify(raw)),
        ("HEX", binascii.hexlify(raw).upper()),
    ]
    forms.extend(_base64_cores(raw))
    return forms


def _files(paths: Iterable[Path]) -> Iterable[Path]:
    for root in paths:
        if root.is_file():
            yield root
        elif root.is_dir():
            for dirpath, _dirs, names in os.walk(root):
                for name in names:
                    yield Path(dirpath) / name


def scan_bytes(data: bytes, where: str, canary: str) -> list[Hit]:
    return [Hit(where, form) for form, needle in encodings(canary) if needle in data]


def postgres_dump(database_url: str) -> bytes:
    """A plain-text dump of the database the suite runs against (its test database)."""
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise RuntimeError("pg_dump is missing (apt-get install postgresql-client)")
    parts = urlsplit(database_url)
    env = {**os.environ, "PGPASSWORD": parts.password or ""}
    cmd = [
        pg_dump,
        "--no-owner",
        "--data-only",
        "-h", parts.hostname or "127.0.0.1",
        "-p", str(parts.port or 5432),
        "-U", parts.username or "postgres",
        parts.path.lstrip("/"),
    ]  # fmt: skip
    return subprocess.run(cmd, check=True, capture_output=True, env=env, timeout=120).stdout


def scan_files(canary: str, roots: Iterable[Path]) -> list[Hit]:
    """Scan in this process: only for a process with no SQLite connection of its own."""
    hits: list[Hit] = []
    for path in _files(roots):
        try:
            data = path.read_bytes()
        except (FileNotFoundError, PermissionError):
            continue  # a file removed while we walked (SQLite's -journal) holds nothing now
        hits.extend(scan_bytes(data, str(path), canary))
    return hits


def scan(
    canary: str,
    data_dir: Path,
    *,
    extra_paths: Iterable[Path] = (),
    postgres_url: str | None = None,
) -> list[Hit]:
    """Every place the canary appears in the server's keeping; an empty list means none."""
    if len(canary) < 12:
        raise ValueError("a canary must be at least 12 characters, or it will match by chance")
    request = json.dumps({"canary": canary, "roots": [str(p) for p in [data_dir, *extra_paths]]})
    result = subprocess.run(
        [sys.executable, "-m", "tests.harness.canary"],
        input=request, capture_output=True, text=True, check=True, timeout=300,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    hits = [Hit(where, form) for where, form in json.loads(result.stdout)]
    if postgres_url is not None:
        hits.extend(scan_bytes(postgres_dump(postgres_url), "pg_dump", canary))
    return hits


if __name__ == "__main__":
    job = json.loads(sys.stdin.read())
    found = scan_files(job["canary"], [Path(root) for root in job["roots"]])
    sys.stdout.write(json.dumps([[hit.where, hit.form] for hit in found]))
