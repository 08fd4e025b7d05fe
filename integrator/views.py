"""Views outside the admin: the merchant's read-only status page (by secret link or merchant
login) and /healthz. Thin: they read, render, and leave the work to integrator.status."""

from __future__ import annotations

import logging
import zoneinfo
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView, LogoutView, redirect_to_login
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse, reverse_lazy
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe

from integrator import ratelimit_web
from integrator.models import MerchantAccess, StatusPage
from integrator.queue import QueueUnreachable, queue_state
from integrator.status import status_report

logger = logging.getLogger(__name__)

STOCKHOLM = zoneinfo.ZoneInfo("Europe/Stockholm")
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600

# No shared cache or search engine may keep a status page, and it runs no script at all.
STATUS_HEADERS = {
    "Cache-Control": "private, no-store, max-age=0",
    "X-Robots-Tag": "noindex, nofollow",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
}


def _language(request: HttpRequest) -> tuple[str, str | None]:
    """Swedish unless the merchant chose otherwise (?lang=en, or the language cookie that
    ?lang= and Django's set_language both write); the browser's Accept-Language is ignored."""
    codes = {code for code, _name in settings.LANGUAGES}
    asked = request.GET.get("lang")
    if asked in codes:
        return asked, asked
    cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if cookie in codes:
        return cookie, None
    return settings.LANGUAGE_CODE, None


def status_view(
    view: Callable[..., HttpResponse] | None = None, *, referrer_policy: str = "same-origin"
) -> Any:
    """Language, the per-IP rate limit and the privacy headers of every status page response
    (also its 404, 405 and 429). A page whose URL holds the token sends no Referer at all; the
    login pages keep same-origin, because with no-referrer browsers send `Origin: null` with a
    form, which CSRF protection rightly refuses."""
    if view is None:
        return lambda v: status_view(v, referrer_policy=referrer_policy)

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language, remember = _language(request)
        with translation.override(language), timezone.override(STOCKHOLM):
            verdict = ratelimit_web.hit(
                "status-ip",
                ratelimit_web.client_ip(request),
                per_minute=ratelimit_web.limit("STATUS_RATE_LIMIT_PER_IP"),
            )
            response = (
                view(request, *args, **kwargs) if verdict.allowed else too_many(request, verdict)
            )
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        for name, value in STATUS_HEADERS.items():
            response.headers[name] = value
        response.headers["Referrer-Policy"] = referrer_policy
        response.headers["Content-Language"] = language
        patch_vary_headers(response, ["Cookie"])
        if remember:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                remember,
                max_age=LANGUAGE_COOKIE_AGE,
                samesite="Lax",
                secure=request.is_secure(),
                httponly=True,
            )
        return response

    return wrapper


def not_found(request: HttpRequest) -> HttpResponse:
    """The same answer for an unknown, a rotated and a malformed link: it tells nothing about
    whether a customer exists."""
    return render(request, "status/not_found.html", status=404)


def too_many(request: HttpRequest, verdict: ratelimit_web.Verdict) -> HttpResponse:
    response = render(request, "status/rate_limited.html", status=429)
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response


def merchant_access(user: Any) -> MerchantAccess | None:
    """The customer a logged-in merchant may see; staff accounts are never merchants."""
    if not user.is_authenticated or not user.is_active or user.is_staff or user.is_superuser:
        return None
    return MerchantAccess.objects.select_related("customer").filter(user=user).first()


def _render_status(
    request: HttpRequest, access: MerchantAccess | StatusPage, *, by_token: bool
) -> HttpResponse:
    context = {
        "report": status_report(access.customer),
        "by_token": by_token,
        "support_email": getattr(settings, "SUPPORT_EMAIL", ""),
    }
    return render(request, "status/page.html", context)


@status_view(referrer_policy="no-referrer")
@require_safe
def status_by_token(request: HttpRequest, token: str) -> HttpResponse:
    verdict = ratelimit_web.hit(
        "status-token",
        ratelimit_web.secret_key(token),
        per_minute=ratelimit_web.limit("STATUS_RATE_LIMIT_PER_TOKEN"),
    )
    if not verdict.allowed:
        return too_many(request, verdict)
    page = StatusPage.objects.find(token)
    if page is None:
        return not_found(request)
    return _render_status(request, page, by_token=True)


@status_view
@require_safe
def status_for_merchant(request: HttpRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), reverse("status-login"))
    access = merchant_access(request.user)
    if access is None:
        return not_found(request)
    return _render_status(request, access, by_token=False)


class MerchantLoginForm(AuthenticationForm):
    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        # The same message as a wrong password: the form does not tell who has an account.
        if merchant_access(user) is None:
            raise self.get_invalid_login_error()


class LoginRateLimited:
    """Posts of the login and password-reset forms share one count per client address, so
    guessing passwords and flooding mailboxes are slowed alike."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        verdict = ratelimit_web.hit(
            "status-login",
            ratelimit_web.client_ip(request),
            per_minute=ratelimit_web.limit("STATUS_LOGIN_RATE_LIMIT_PER_IP"),
        )
        if not verdict.allowed:
            return too_many(request, verdict)
        return super().post(request, *args, **kwargs)  # type: ignore[misc]


@method_decorator(status_view, name="dispatch")
class MerchantLoginView(LoginRateLimited, LoginView):
    template_name = "registration/merchant_login.html"
    authentication_form = MerchantLoginForm
    redirect_authenticated_user = False
    next_page = reverse_lazy("status-page")

    def get_default_redirect_url(self) -> str:
        return str(self.next_page)


@method_decorator(status_view, name="dispatch")
class MerchantLogoutView(LogoutView):
    next_page = reverse_lazy("status-login")


@never_cache
@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """For operations: is the database reachable, and is the queue moving? Leaks nothing else:
    no versions, host names, customers or error texts. 503 only when the database is down; a
    broker that does not answer shows as "queue": "unreachable"."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        body: dict[str, Any] = {"database": "ok"}
    except DatabaseError:
        logger.warning("healthz: the database is unreachable", exc_info=True)
        return JsonResponse({"database": "unreachable"}, status=503)
    try:
        state = queue_state()
    except QueueUnreachable:
        logger.warning("healthz: the queue broker is unreachable", exc_info=True)
        body.update(queue="unreachable", queue_depth=None, oldest_task_age_seconds=None)
    except DatabaseError:
        logger.warning("healthz: the database failed while reading the queue", exc_info=True)
        return JsonResponse({"database": "unreachable"}, status=503)
    else:
        body.update(
            queue="ok",
            queue_depth=state.depth,
            oldest_task_age_seconds=state.oldest_age_seconds(),
        )
    return JsonResponse(body)
