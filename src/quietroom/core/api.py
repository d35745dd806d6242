"""Public, data-free endpoints: health, version, and the CSP violation report sink."""

from __future__ import annotations

import json
import logging

from django.db import connection
from django.http import HttpRequest, HttpResponse
from ninja import Router, Schema
from ninja.responses import Status

from quietroom import __version__
from quietroom.core import transparency
from quietroom.core.errors import error_response

router = Router(tags=["core"])
logger = logging.getLogger("quietroom.csp")


class Health(Schema):
    status: str


class Meta(Schema):
    name: str
    version: str


@router.get("/health", auth=None, response={200: Health, 503: dict[str, object]})
def health(request: HttpRequest) -> HttpResponse | Health:
    """Liveness and database reachability, for a load balancer or `quietroom check`."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:  # noqa: BLE001 - any failure here means "not ready", which is the answer
        response = error_response(503)
        response.headers["Retry-After"] = "5"
        return response
    return Health(status="ok")


@router.get("/meta", auth=None, response=Meta)
def meta(request: HttpRequest) -> Meta:
    """What the sign-in and transparency pages may show before anyone signs in."""
    return Meta(name="Quietroom", version=__version__)


@router.get("/transparency", auth=None, response=transparency.Transparency)
def transparency_page(request: HttpRequest) -> transparency.Transparency:
    """The facts behind "How your data is protected", readable before sign-in."""
    return transparency.build()


@router.post("/csp-report", auth=None, response={204: None})
def csp_report(request: HttpRequest) -> Status[None]:
    """Browsers report CSP violations here. We log only the directive and the blocked origin:
    a full report carries the page address, which must never hold anything personal anyway."""
    try:
        report = json.loads(request.body or b"{}").get("csp-report", {})
    except (ValueError, AttributeError):
        return Status(204, None)
    if isinstance(report, dict):
        blocked = str(report.get("blocked-uri", ""))
        logger.warning(
            "csp violation",
            extra={
                "directive": str(report.get("effective-directive", ""))[:64],
                "blocked": blocked.split("/")[0:3][-1][:128] if "://" in blocked else blocked[:32],
            },
        )
    return Status(204, None)
