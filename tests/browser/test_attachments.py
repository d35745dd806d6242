"""Attachments in Debian's Chromium against the real server (issue #6, crypto-protocol §8): the
therapist sends an image and another file, each sealed as a stream in the browser and uploaded
in chunks; the client sees the image previewed and downloads the other file with identical
bytes; nothing of either file (contents or name) reaches the database, blobs or logs; and an
upload whose chunk is cut off once resumes where the server stopped and completes."""

from __future__ import annotations

import secrets
import struct
import zlib
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FilePayload, Page, Route, expect

from quietroom.messaging.models import Blob, ConversationItem
from tests.browser.conversation_pages import (
    canary,
    messages,
    open_conversation_as_client,
    open_conversation_as_therapist,
)
from tests.browser.test_setup_flow import SLOW
from tests.browser.test_team_flow import build_team, go
from tests.conftest import CanaryScanner
from tests.harness.browser import ThirdPartyGuard
from tests.harness.server import AppServer

pytestmark = pytest.mark.django_db(transaction=True)

MiB = 1024 * 1024


def png_with_text(text: str) -> bytes:
    """A valid 2x2 PNG that carries `text` in a tEXt chunk (so the canary is in the bytes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data))
            + kind
            + data
            + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        )

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 2 for _ in range(2))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
        + chunk(b"tEXt", b"Comment\x00" + text.encode())
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def reopen_as_client(page: Page) -> None:
    """Opens the conversation afresh (in-app), so what the client sees comes from the item list
    and not only from live delivery, which tests/browser/test_messaging_flow.py covers."""
    go(page, "Security")
    open_conversation_as_client(page)


def attach(page: Page, name: str, mime: str, data: bytes) -> None:
    payload: FilePayload = {"name": name, "mimeType": mime, "buffer": data}
    page.get_by_label("File to send").set_input_files(files=[payload])
    expect(page.get_by_role("status").filter(has_text=f"{name} was sent.")).to_be_visible(
        timeout=SLOW
    )


def test_files_sent_previewed_downloaded_and_resumed(  # noqa: PLR0917 - pytest fixtures
    page: Page,
    browser: Browser,
    app_server: AppServer,
    third_party_guard: ThirdPartyGuard,
    data_dir: Path,
    canary_scanner: CanaryScanner,
    tmp_path: Path,
) -> None:
    team = build_team(page, browser, app_server, third_party_guard, data_dir)
    try:
        therapist, client = team.therapist_page, team.client_page
        open_conversation_as_therapist(therapist, "Sam Client")
        open_conversation_as_client(client)

        # An image: previewed on the client's side from a blob: URL, after decryption.
        image_secret, image_name = canary(), f"{canary()}.png"
        image = png_with_text(image_secret)
        attach(therapist, image_name, "image/png", image)
        assert ConversationItem.objects.filter(type="file").count() == 1
        reopen_as_client(client)
        preview = messages(client).get_by_role("img", name=image_name)
        expect(preview).to_be_visible(timeout=SLOW)
        assert (preview.get_attribute("src") or "").startswith("blob:")
        assert preview.evaluate("img => img.naturalWidth") == 2

        # Another file: no preview, a download with the original name and identical bytes.
        doc_secret, doc_name = canary(), f"{canary()}.txt"
        document = (f"Session notes {doc_secret}\n" * 2000).encode()
        attach(therapist, doc_name, "text/plain", document)
        reopen_as_client(client)
        link = messages(client).get_by_role("link", name=f"Download {doc_name}")
        expect(link).to_be_visible(timeout=SLOW)
        expect(messages(client).get_by_role("img", name=doc_name)).to_have_count(0)
        with client.expect_download() as download_info:
            link.click()
        download = download_info.value
        assert download.suggested_filename == doc_name
        saved = tmp_path / "download"
        download.save_as(saved)
        assert saved.read_bytes() == document

        # Two file items stored, each naming a complete, attached blob.
        assert ConversationItem.objects.filter(type="file").count() == 2
        assert Blob.objects.filter(attached_at__isnull=False).count() == 2

        # A bigger file goes up in two chunks; the second is cut off once and resumes.
        cut: list[str] = []

        def cut_second_chunk(route: Route) -> None:
            if route.request.method == "PUT" and "offset=0" not in route.request.url and not cut:
                cut.append(route.request.url)
                route.abort("connectionreset")
            else:
                route.continue_()

        therapist.route("**/api/blobs/*?offset=*", cut_second_chunk)
        big_secret, big_name = canary(), f"{canary()}.bin"
        big = (big_secret.encode() + secrets.token_bytes(4096)) * ((9 * MiB) // 4120)
        attach(therapist, big_name, "application/octet-stream", big)
        therapist.unroute("**/api/blobs/*?offset=*")
        assert len(cut) == 1
        reopen_as_client(client)
        big_link = messages(client).get_by_role("link", name=f"Download {big_name}")
        expect(big_link).to_be_visible(timeout=SLOW)
        with client.expect_download() as download_info:
            big_link.click()
        saved_big = tmp_path / "big"
        download_info.value.save_as(saved_big)
        assert saved_big.read_bytes() == big

        # Nothing of any file, nor its name, reached the server's storage or logs.
        for secret in (image_secret, image_name, doc_secret, doc_name, big_secret, big_name):
            assert canary_scanner.hits(secret) == [], secret
    finally:
        for context in team.contexts:
            context.close()
