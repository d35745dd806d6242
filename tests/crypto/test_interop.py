"""Cross-language round trips (§14): items another implementation sealed, opened here.

The TypeScript suite may drop files into testdata/vectors/interop/ (shape documented in
testdata/vectors/README.md); every file there is opened for every reader it names.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from quietroom.crypto import envelope, vector_runner
from quietroom.crypto.errors import CryptoError
from quietroom.crypto.vectors import World
from tests.crypto.helpers import seal

INTEROP = Path(__file__).resolve().parents[2] / "testdata" / "vectors" / "interop"


def test_foreign_item_files_open(qr1: dict[str, Any]) -> None:
    for path in sorted(INTEROP.glob("*.json")):
        foreign = json.loads(path.read_text(encoding="utf-8"))
        assert vector_runner.check_foreign_items(qr1, foreign) > 0, path.name


def test_foreign_item_format_with_our_own_seals(qr1: dict[str, Any], world: World) -> None:
    # The same path a TypeScript-sealed file takes, fed with a Python seal (random nonces and
    # ephemeral keys, as another implementation's would be).
    sealed = seal(world, b'{"text":"from elsewhere"}')
    case = {
        "name": "python seal",
        "revisions": [envelope.encode_item(sealed.item)],
        "wraps": None,
        "grants": [],
        "blob": None,
        "expect": {"payload": b'{"text":"from elsewhere"}'.hex(), "readers": ["client", "prk"]},
    }
    assert vector_runner.check_foreign_items(qr1, {"producer": "py", "items": [case]}) == 2
    tampered = json.loads(json.dumps(case))
    tampered["revisions"][0]["sig"] = tampered["revisions"][0]["sig"][::-1]
    with pytest.raises(CryptoError):
        vector_runner.check_foreign_items(qr1, {"producer": "py", "items": [tampered]})


def test_command_line(tmp_path: Path, qr1: dict[str, Any]) -> None:
    path = tmp_path / "items.json"
    path.write_text(json.dumps({"producer": "py", "items": qr1["item"]["cases"][:1]}))
    assert vector_runner.main([str(path)]) == 0
