"""The keys API (docs/api/keys.md, "Account keys" and "Recovery"). Every check lives in
`quietroom.keys.services`; this maps its outcomes onto the JSON error shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import Router

from quietroom.accounts.api import signed_in_user
from quietroom.accounts.reauth import require_recent_auth
from quietroom.audit.services import Origin
from quietroom.core.errors import error_response
from quietroom.keys import services
from quietroom.keys.schemas import (
    AccountKeysIn,
    ConfirmPwWrapIn,
    DevicesIn,
    DevWrapCtIn,
    PendingPwWrapIn,
    RecoveryCompleteIn,
    RecoveryRequestIn,
    RecoveryTransferIn,
)
from quietroom.practices.access import active_memberships

router = Router(tags=["keys"])


def _answer(work: Callable[[], Any], status: int = 200) -> HttpResponse:
    """Runs one service call and maps its refusals: 400 (with `crypto` for a protocol error
    code), 409, and the one 404 for "not there" and "not yours"."""
    try:
        result = work()
    except services.KeysRejected as exc:
        if exc.code.startswith("E_"):
            return error_response(400, "bad_request", exc.message, crypto=exc.code)
        return error_response(400, exc.code, exc.message)
    except services.KeysConflict as exc:
        return error_response(409, exc.code, exc.message)
    except services.KeysNotFound:
        return error_response(404)
    if result is None:
        return HttpResponse(status=204)
    return JsonResponse(result, status=status)


@router.put("/keys/account")
def put_account_keys(request: HttpRequest, payload: AccountKeysIn) -> HttpResponse:
    user = signed_in_user(request)
    memberships = active_memberships(user)
    if not memberships:
        return error_response(404)
    # v1: an account belongs to one practice, the one whose PRK will hold its escrow.
    practice = memberships[0].practice

    def work() -> dict[str, Any]:
        services.store_initial_keys(user, practice, payload, origin=Origin.of(request))
        return services.account_keys_out(user, None)

    return _answer(work, 201)


@router.get("/keys/account")
def get_account_keys(request: HttpRequest, device_id: UUID | None = None) -> HttpResponse:
    user = signed_in_user(request)
    return _answer(lambda: services.account_keys_out(user, device_id))


@router.post("/keys/pw-wrap/pending")
def post_pending_pw_wrap(request: HttpRequest, payload: PendingPwWrapIn) -> HttpResponse:
    user = signed_in_user(request)
    binding = services.session_binding(request, create=True)

    def work() -> dict[str, Any]:
        wrap = services.put_pending_pw_wrap(
            user, binding, ver=payload.ver, kdf=payload.kdf, ct=payload.ct,
            origin=Origin.of(request),
        )  # fmt: skip
        return {"ver": wrap.ver, "state": wrap.state}

    return _answer(work, 201)


@router.post("/keys/pw-wrap/confirm")
def post_confirm_pw_wrap(request: HttpRequest, payload: ConfirmPwWrapIn) -> HttpResponse:
    user = signed_in_user(request)
    binding = services.session_binding(request)
    return _answer(lambda: services.confirm_pw_wrap(user, binding, payload.ver, Origin.of(request)))


@router.post("/keys/devices")
def post_device_list(request: HttpRequest, payload: DevicesIn) -> HttpResponse:
    user = signed_in_user(request)

    def work() -> dict[str, Any]:
        services.publish_device_list(
            user, payload.device_list, payload.dev_wrap, Origin.of(request)
        )
        return {"lists": services.device_lists(user)}

    return _answer(work, 201)


@router.get("/keys/devices")
def get_device_lists(request: HttpRequest) -> HttpResponse:
    user = signed_in_user(request)
    return _answer(lambda: {"lists": services.device_lists(user)})


@router.put("/keys/devices/{device_id}/dev-wrap")
def put_dev_wrap(request: HttpRequest, device_id: UUID, payload: DevWrapCtIn) -> HttpResponse:
    user = signed_in_user(request)
    return _answer(lambda: services.put_dev_wrap(user, device_id, payload.ct, Origin.of(request)))


@router.delete("/keys/devices/{device_id}/dev-wrap")
def delete_dev_wrap(request: HttpRequest, device_id: UUID) -> HttpResponse:
    user = signed_in_user(request)
    return _answer(lambda: services.delete_dev_wrap(user, device_id, Origin.of(request)))


@router.post("/keys/recovery/requests")
def post_recovery_request(request: HttpRequest, payload: RecoveryRequestIn) -> HttpResponse:
    user = signed_in_user(request)

    def work() -> dict[str, Any]:
        created = services.create_recovery_request(user, payload.t_pub, Origin.of(request))
        return {"id": str(created.id)}

    return _answer(work, 201)


@router.get("/keys/recovery/requests/{request_id}")
def get_recovery_request(request: HttpRequest, request_id: UUID) -> HttpResponse:
    user = signed_in_user(request)
    return _answer(lambda: services.recovery_status(user, request_id))


@router.get("/practices/{practice_id}/recovery-requests")
def get_practice_recovery_requests(request: HttpRequest, practice_id: UUID) -> HttpResponse:
    user = signed_in_user(request)
    return _answer(
        lambda: {
            "requests": services.recovery_requests_for_admin(user, practice_id, Origin.of(request))
        }
    )


@router.post("/practices/{practice_id}/recovery-requests/{request_id}/transfer")
def post_recovery_transfer(
    request: HttpRequest, practice_id: UUID, request_id: UUID, payload: RecoveryTransferIn
) -> HttpResponse:
    user = signed_in_user(request)
    if services.admin_membership(user, practice_id) is None:
        return error_response(404)  # before the re-authentication check: reveals nothing
    refused = require_recent_auth(request)
    if refused is not None:
        return refused

    def work() -> dict[str, Any]:
        services.transfer_recovery(
            user, practice_id, request_id, ct=payload.ct, at=payload.at,
            method=payload.method, sig=payload.sig, origin=Origin.of(request),
        )  # fmt: skip
        return services.recovery_status_for_admin(request_id)

    return _answer(work)


@router.post("/keys/recovery/complete")
def post_recovery_complete(request: HttpRequest, payload: RecoveryCompleteIn) -> HttpResponse:
    user = signed_in_user(request)
    return _answer(
        lambda: services.complete_recovery(
            user, payload.request_id, payload.keys, Origin.of(request)
        )
    )
