"""Billing tests read dates relative to a fixed "today" and texts in English (the Swedish
translations are added later; a test must not break when they are)."""

import datetime

import pytest
from django.utils import timezone, translation

from tests import factories


@pytest.fixture(autouse=True)
def english(settings):
    settings.LANGUAGE_CODE = "en"
    with translation.override("en"):
        yield


@pytest.fixture
def today(monkeypatch):
    """Sets the Stockholm calendar day: `today(datetime.date(2026, 3, 16))`."""
    real_localdate = timezone.localdate

    def set_today(day: datetime.date) -> datetime.date:
        def localdate(value=None, timezone=None):
            return real_localdate(value, timezone) if value is not None else day

        monkeypatch.setattr("django.utils.timezone.localdate", localdate)
        return day

    return set_today


@pytest.fixture
def manager(db):
    return factories.staff_user("anna", role="Account manager", first_name="Anna")


@pytest.fixture
def support(db):
    return factories.staff_user("sven", role="Support")
