"""The one JSON error shape every API failure uses: {"error": {"code", "message", ...}}."""

from __future__ import annotations

from typing import Any

from django.http import JsonResponse

MESSAGES = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Sign in to continue."),
    403: ("forbidden", "This request is not allowed."),
    404: ("not_found", "Nothing was found here."),
    405: ("method_not_allowed", "This address does not accept that method."),
    413: ("too_large", "The request body is larger than this server accepts."),
    415: ("unsupported_media_type", "Send the body as application/json."),
    429: ("rate_limited", "Too many requests; wait a moment and try again."),
    500: ("server_error", "Something went wrong on the server. Nothing was changed."),
    503: ("unavailable", "The service is briefly unavailable; try again shortly."),
}


def error_response(
    status: int, code: str | None = None, message: str | None = None, **extra: Any
) -> JsonResponse:
    default_code, default_message = MESSAGES.get(status, ("error", "The request failed."))
    body: dict[str, Any] = {"code": code or default_code, "message": message or default_message}
    body.update(extra)
    return JsonResponse({"error": body}, status=status)
