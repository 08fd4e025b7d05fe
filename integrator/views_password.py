"""A merchant who forgot the status page password sets a new one by e-mail (Django's own reset
views, with their signed one-time links). Staff accounts never: their passwords are reset by a
superuser in the admin, so this public page cannot become a way into the admin."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import PasswordResetForm
from django.http import HttpResponse
from django.urls import reverse_lazy
from django.utils.decorators import method_decorator

from integrator.views import LoginRateLimited, merchant_access, status_view


class MerchantPasswordResetForm(PasswordResetForm):
    def get_users(self, email: str) -> Iterator[Any]:
        return (user for user in super().get_users(email) if merchant_access(user) is not None)


@method_decorator(status_view, name="dispatch")
class MerchantPasswordResetView(LoginRateLimited, auth_views.PasswordResetView):
    """Always the same answer, whether or not the address belongs to a merchant: the page must
    not tell who has an account. Asking is rate limited per client address like signing in."""

    form_class = MerchantPasswordResetForm
    template_name = "registration/merchant_password_reset.html"
    email_template_name = "registration/merchant_password_reset_email.txt"
    subject_template_name = "registration/merchant_password_reset_subject.txt"
    success_url = reverse_lazy("status-password-reset-done")

    def form_valid(self, form: PasswordResetForm) -> HttpResponse:
        # The link's host comes from settings, never from the request's Host header.
        self.extra_email_context = {"site_url": settings.SITE_URL.rstrip("/")}
        return super().form_valid(form)


@method_decorator(status_view, name="dispatch")
class MerchantPasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "registration/merchant_password_reset_done.html"


# The link in the e-mail holds a one-time token: that page sends no Referer anywhere.
@method_decorator(status_view(referrer_policy="no-referrer"), name="dispatch")
class MerchantPasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "registration/merchant_password_reset_confirm.html"
    success_url = reverse_lazy("status-password-reset-complete")

    def dispatch(self, *args: Any, **kwargs: Any) -> HttpResponse:
        # Only merchants: a valid link for a staff account (made some other way) is refused
        # before Django would let it set a password.
        user = self.get_user(kwargs["uidb64"])
        if user is not None and merchant_access(user) is None:
            self.user, self.validlink = user, False
            return self.render_to_response(self.get_context_data())
        return super().dispatch(*args, **kwargs)


@method_decorator(status_view, name="dispatch")
class MerchantPasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "registration/merchant_password_reset_complete.html"
