from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegratorConfig(AppConfig):
    name = "integrator"
    verbose_name = _("Integrations")
