"""`check_decoded_item`: the same §7.7 checks as `check_item_upload`, for an upload the caller
already decoded (the item store decodes once to hash the canonical form)."""

from __future__ import annotations

import dataclasses

import pytest

from quietroom.crypto import envelope, server_checks
from quietroom.crypto.errors import CryptoError
from quietroom.crypto.vectors import World
from tests.crypto.helpers import seal
from tests.crypto.test_server_checks import ctx, upload


def test_same_answer_as_check_item_upload(world: World) -> None:
    sealed = seal(world)
    data = upload(sealed.item)
    assert server_checks.check_decoded_item(envelope.decode(data), ctx(world)) == (
        server_checks.check_item_upload(data, ctx(world))
    )


def test_same_refusals(world: World) -> None:
    sealed = seal(world)
    no_prk_wrap = dataclasses.replace(
        sealed.item, wraps=tuple(w for w in sealed.item.wraps if w.kind != "prk")
    )
    bad_sig = dataclasses.replace(sealed.item, sig=bytes(64))
    for item, kw in ((no_prk_wrap, {}), (bad_sig, {}), (sealed.item, {"uploader": "client"})):
        data = upload(item)
        with pytest.raises(CryptoError) as whole:
            server_checks.check_item_upload(data, ctx(world, **kw))
        with pytest.raises(CryptoError) as decoded:
            server_checks.check_decoded_item(envelope.decode(data), ctx(world, **kw))
        assert decoded.value.code == whole.value.code
