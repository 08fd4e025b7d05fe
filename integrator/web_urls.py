from django.urls import path
from django.views.generic import RedirectView

from integrator import views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
]
