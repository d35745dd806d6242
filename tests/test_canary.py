"""The canary scanner finds a planted string in every form and place it promises, and stays
silent when the string is absent. Later capabilities rely on it to prove plaintext never
reaches the server."""

from __future__ import annotations

import base64
import secrets
from pathlib import Path

import pytest

from quietroom.practices.models import Practice
from tests.conftest import CanaryScanner
from tests.harness import canary


def fresh() -> str:
    return f"canary-{secrets.token_hex(8)}"


def test_absent_canary_has_no_hits(canary_scanner: CanaryScanner, db: None) -> None:
    Practice.objects.create(name="Nothing to see")
    assert canary_scanner.hits(fresh()) == []


@pytest.mark.django_db(transaction=True)
def test_finds_canary_in_the_database(canary_scanner: CanaryScanner) -> None:
    value = fresh()
    Practice.objects.create(name=f"practice {value} here")
    hits = canary_scanner.hits(value)
    assert hits, "a committed row holding the canary must be found"
    assert any(h.form == "utf-8" for h in hits)


@pytest.mark.parametrize("prefix", [b"", b"a", b"ab", b"abc"])
def test_finds_canary_inside_larger_base64(tmp_path: Path, prefix: bytes) -> None:
    value = fresh()
    (tmp_path / "blob.bin").write_bytes(
        b"x" + base64.b64encode(prefix + value.encode() + b"tail") + b"y"
    )
    forms = {hit.form for hit in canary.scan(value, tmp_path)}
    assert any(form.startswith("base64@") for form in forms)


def test_finds_canary_in_base64url_utf16_and_hex(tmp_path: Path) -> None:
    value = fresh()
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "a.log").write_bytes(base64.urlsafe_b64encode(b"?>" + value.encode()))
    (tmp_path / "blob-le").write_bytes(value.encode("utf-16-le"))
    (tmp_path / "blob-be").write_bytes(value.encode("utf-16-be"))
    (tmp_path / "dump.txt").write_bytes(value.encode().hex().encode())
    forms = {hit.form for hit in canary.scan(value, tmp_path)}
    assert {"utf-16-le", "utf-16-be", "hex"} <= forms
    assert any(form.startswith("base64url@") for form in forms)


def test_short_canaries_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="at least 12"):
        canary.scan("short", tmp_path)
