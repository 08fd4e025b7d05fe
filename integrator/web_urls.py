from django.urls import path, re_path
from django.views.generic import RedirectView

from integrator import views, views_password, webhooks

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    # The merchant's own page after logging in; the login, logout and password pages come before
    # the secret-link pattern so their names can never be read as a token.
    path("status/", views.status_for_merchant, name="status-page"),
    path("status/login/", views.MerchantLoginView.as_view(), name="status-login"),
    path("status/logout/", views.MerchantLogoutView.as_view(), name="status-logout"),
    path(
        "status/password-reset/",
        views_password.MerchantPasswordResetView.as_view(),
        name="status-password-reset",
    ),
    path(
        "status/password-reset/sent/",
        views_password.MerchantPasswordResetDoneView.as_view(),
        name="status-password-reset-done",
    ),
    path(
        "status/password-reset/<uidb64>/<token>/",
        views_password.MerchantPasswordResetConfirmView.as_view(),
        name="status-password-reset-confirm",
    ),
    path(
        "status/password-reset/done/",
        views_password.MerchantPasswordResetCompleteView.as_view(),
        name="status-password-reset-complete",
    ),
    # No customer id anywhere: the token alone finds the page (and a malformed one gets the same
    # 404 as an unknown one).
    re_path(
        r"^status/(?P<token>[A-Za-z0-9_-]{1,100})/$", views.status_by_token, name="status-token"
    ),
    # Order webhooks from the shops: one unguessable URL per shop connection (integrator.webhooks).
    re_path(
        r"^webhooks/(?P<token>[0-9]{1,12}-[0-9a-f]{40})/$",
        webhooks.shop_webhook,
        name="shop-webhook",
    ),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
