"""Fixtures every test may use: the data folder (QUIETROOM_DATA_DIR), personas, the real server,
the canary scanner and (in tests/browser) Debian's Chromium with the third-party request guard."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

# pytest-django reads the settings before any conftest runs, so the data folder cannot be chosen
# here; without one, tests would share (and clobber) the developer's ./data.
if "QUIETROOM_DATA_DIR" not in os.environ:
    sys.exit(
        "tests need a scratch data folder: run scripts/test, or "
        'QUIETROOM_DATA_DIR="$(mktemp -d)" .venv/bin/pytest ...'
    )
# Sync Playwright keeps an event loop running in the test thread; Django would otherwise
# refuse ORM calls made there by the test itself.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import pytest
from django.conf import settings
from django.db import connection

from quietroom.core import background
from quietroom.messaging import writer
from tests.harness import canary, database
from tests.harness.browser import (  # noqa: F401 - fixtures used by tests/browser
    browser_type_launch_args,
    context,
    page,
    page_problems,
    third_party_guard,
)
from tests.harness.personas import Personas, make_personas
from tests.harness.server import AppServer, start_app_server

database.install()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in item.path.as_posix():
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """Before the test's fixtures (and so its database) are torn down: finish the work the item
    writer handed to the background thread (notification checks). A flush that truncates the
    tables under that work's open transaction deadlocks on PostgreSQL."""
    background.worker.stop()


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path: Path = settings.CONFIG.data_dir
    return path


@pytest.fixture
def personas(db: None) -> Personas:
    return make_personas()


@pytest.fixture(scope="session", autouse=True)
def _close_leftover_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Channels runs ORM calls in worker threads whose PostgreSQL connections outlive the
    tests; end them so the test database can be dropped at the end of the run."""
    yield
    writer.stop()
    background.worker.stop()
    if connection.vendor == "postgresql":
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )


@pytest.fixture(scope="session")
def app_server(django_db_setup: None) -> Iterator[AppServer]:
    """Quietroom under uvicorn, as in production, on the test database. Tests that put rows
    in for it must use `transactional_db`, so the rows are committed where it can see them."""
    server = start_app_server(data_dir=settings.CONFIG.data_dir)
    yield server
    server.stop()


class CanaryScanner:
    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def hits(self, value: str) -> list[canary.Hit]:
        db = settings.DATABASES["default"]
        postgres_url = None
        if db["ENGINE"].endswith("postgresql"):
            postgres_url = (
                f"postgres://{db['USER']}:{db.get('PASSWORD') or ''}@{db['HOST']}:{db['PORT']}"
                f"/{db['NAME']}"
            )
        return canary.scan(value, self.data_dir, postgres_url=postgres_url)


@pytest.fixture
def canary_scanner(data_dir: Path) -> CanaryScanner:
    return CanaryScanner(data_dir)
