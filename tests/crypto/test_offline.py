"""The offline practice tool's core: open with the PRK, audit every PRK wrap, rotate the PRK."""

from __future__ import annotations

import dataclasses
import os

import pytest

from quietroom.crypto import account, items, offline
from quietroom.crypto.errors import CertError
from quietroom.crypto.keys import hpke_seal, kid, raw_public, x25519_from_seed
from quietroom.crypto.vectors import World
from tests.crypto.helpers import reader, seal, seal_file


def _export(world: World, extra: list[offline.ExportedItem] | None = None) -> offline.SealedExport:
    msg = seal(world, b"message")
    note = seal(world, b"note", item_type="note", recipients=("therapist",))
    rev = items.revise_inline(
        note.item,
        note.cek,
        b"note v1",
        reviser_user_id=world.user("therapist").user_id,
        reviser=world.user("therapist").keys,
        created_at=note.item.hdr.created_at + 1,
    )
    file, blob = seal_file(world, os.urandom(2000))
    exported = [
        offline.ExportedItem((msg.item,), msg.item.wraps),
        offline.ExportedItem((note.item, rev), note.item.wraps),
        offline.ExportedItem((file.item,), file.item.wraps, blob=blob),
        *(extra or []),
    ]
    escrows = [
        offline.Escrow(
            u.user_id,
            u.keys.aek_id,
            account.seal_rec_escrow(
                world.keys.prk_pub, u.keys.aek, practice_id=world.practice_id, user_id=u.user_id
            ),
        )
        for u in world.users.values()
    ]
    return offline.SealedExport(
        world.practice_id, [world.config], list(world.certs), [], exported, escrows
    )


def test_audit_passes_a_clean_export(world: World) -> None:
    export = _export(world)
    for decrypt in (False, True):
        results = offline.audit(export, world.keys.prsk_pub, [world.keys.prk], decrypt=decrypt)
        assert all(r.ok for r in results)
        assert len(results) == 3


def test_audit_reports_a_planted_unopenable_prk_wrap(world: World) -> None:
    # ENC-05: the server cannot tell whether a wrap opens; the offline audit must.
    bad = seal(world, b"bad")
    prk = next(w for w in bad.item.wraps if w.kind == "prk")
    junk = dataclasses.replace(
        prk, ct=hpke_seal(raw_public(x25519_from_seed(os.urandom(32))), b"x", os.urandom(32))
    )
    planted = offline.ExportedItem(
        (bad.item,), tuple(junk if w.kind == "prk" else w for w in bad.item.wraps)
    )
    results = offline.audit(_export(world, [planted]), world.keys.prsk_pub, [world.keys.prk])
    failed = [r for r in results if not r.ok]
    assert [(r.item_id, r.code) for r in failed] == [(bad.item.hdr.item_id, "E_WRAP")]


def test_open_exported_and_sheet(world: World) -> None:
    export = _export(world)
    keys = offline.load_sheet(world.keys.sheet_payload(), export)
    opened = offline.open_exported(export.items[1], export, keys.prsk_pub, [keys.prk])
    assert opened.payload == b"note v1"
    other = world.keys.__class__.generate(world.practice_id)
    with pytest.raises(CertError):
        offline.load_sheet(other.sheet_payload(), export)


def test_rotate_prk(world: World) -> None:
    export = _export(world)
    new_prk = x25519_from_seed(os.urandom(32))
    rotation = offline.rotate_prk(export, world.keys, new_prk)
    assert not rotation.failures
    assert rotation.config.seq == 2
    assert rotation.config.prk_pub == raw_public(new_prk)
    # Items open with the new PRK alone through the re-sealed wraps.
    for item in export.items:
        new_wrap = rotation.wraps[item.revisions[0].hdr.item_id]
        wraps = (*(w for w in item.wraps if w.kind != "prk"), new_wrap)
        opened = items.open_item(
            item.revisions,
            reader=items.Reader.practice(world.practice_id, new_prk),
            trust=export.trust(world.keys.prsk_pub),
            wraps=wraps,
            blob=item.blob,
        )
        assert opened.payload
    for escrow in rotation.escrows:
        aek = account.open_rec_escrow(
            new_prk,
            escrow.escrow,
            practice_id=world.practice_id,
            user_id=escrow.user_id,
            aek_id=escrow.aek_id,
        )
        assert kid("x25519", raw_public(aek)) == escrow.aek_id
    # The next export carries the new config; the old sheet no longer matches it.
    export.configs.append(rotation.config)
    with pytest.raises(CertError):
        offline.load_sheet(world.keys.sheet_payload(), export)
    assert reader(world, "prk").kind == "prk"
