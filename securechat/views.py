"""Project-level pages: the home page and the health endpoint."""

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_safe

from accounts.selectors import identity_of, public_identity_json
from securechat.health import run_checks


@require_safe
@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    identity = identity_of(request.user) if request.user.is_authenticated else None
    return render(request, "home.html", {"identity": public_identity_json(identity) if identity else None})


@never_cache
@require_safe
async def healthz(request: HttpRequest) -> JsonResponse:
    checks = await run_checks()
    healthy = all(result == "ok" for result in checks.values())
    return JsonResponse({"status": "ok" if healthy else "unavailable", **checks}, status=200 if healthy else 503)
