"""Replays every saved fuzz crasher (fuzz/crashes/) and the seed corpus through the decoders."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from quietroom.crypto import envelope

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
CASES = sorted(
    p
    for directory in (FUZZ / "crashes", FUZZ / "corpus" / "envelope")
    for p in directory.glob("*")
    if p.is_file() and p.name != ".gitkeep"
)


@pytest.mark.parametrize("path", CASES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_decoders_only_raise_typed_errors(path: Path) -> None:
    data = path.read_bytes()
    for decode in envelope.DECODERS.values():
        with contextlib.suppress(envelope.EnvelopeError):
            decode(data)


def test_seed_corpus_decodes() -> None:
    # The seeds are valid envelopes of their kind, so the fuzzer starts from deep paths.
    kinds = {
        "item": "item",
        "grant": "grant",
        "device-list": "device_list",
        "practice-config": "practice_config",
        "member-cert": "member_cert",
        "member-revoke": "member_revoke",
        "aek-bind": "aek_bind",
        "bundle": "bundle",
        "webrtc-fp": "webrtc_fp",
    }
    for path in (FUZZ / "corpus" / "envelope").glob("*.json"):
        prefix = next(
            (k for k in sorted(kinds, key=len, reverse=True) if path.stem.startswith(k)), None
        )
        if prefix is not None:
            envelope.DECODERS[kinds[prefix]](path.read_bytes())
