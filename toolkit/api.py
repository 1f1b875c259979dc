"""The JSON API's edge: method and sign-in checks, body parsing, and errors as stable codes."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.csrf import csrf_failure as html_csrf_failure
from django.views.defaults import page_not_found

from toolkit.errors import ApiError, ErrorCode
from toolkit.validation import Fields, parse_json

MAX_BODY_BYTES = 64 * 1024

View = Callable[..., HttpResponse]


def error_response(error: ApiError) -> JsonResponse:
    response = JsonResponse({"error": error.as_dict()}, status=error.status)
    if "retry_after" in error.extra:
        response["Retry-After"] = str(error.extra["retry_after"])
    return response


def json_endpoint(*, methods: tuple[str, ...], login_required: bool = False) -> Callable[[View], View]:
    """Wrap a view so refusals become ``{"error": {...}}`` answers with the right status."""

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise ApiError(ErrorCode.METHOD_NOT_ALLOWED, f"Use {' or '.join(methods)}.")
                if login_required and not request.user.is_authenticated:
                    raise ApiError(ErrorCode.NOT_AUTHENTICATED, "Log in first.")
                return view(request, *args, **kwargs)
            except ApiError as error:
                return error_response(error)

        return wrapper

    return decorator


def read_json(request: HttpRequest, *, max_bytes: int = MAX_BODY_BYTES) -> Fields:
    """The request body as a JSON object, at most ``max_bytes``."""
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:  # Django's request.body would raise the same on it: a 500
        raise ApiError(ErrorCode.INVALID_JSON, "The Content-Length header is not a number.") from None
    if length > max_bytes or len(request.body) > max_bytes:
        raise ApiError(ErrorCode.TOO_LARGE, f"The request body may be at most {max_bytes} bytes.")
    return Fields(parse_json(request.body, what="The request body"))


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """JSON for the API, Django's page for forms."""
    if request.path.startswith("/api/"):
        return error_response(ApiError(ErrorCode.CSRF_FAILED, "Missing or wrong CSRF token; reload the page."))
    return html_csrf_failure(request, reason=reason)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """JSON for an API path no route matches, Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return error_response(ApiError(ErrorCode.NOT_FOUND, "No such API endpoint."))
    return page_not_found(request, exception)
