"""The engine's tests read the messages support staff see in English; the Swedish translations
are checked in tests/admin and tests/status."""

import pytest
from django.utils import translation


@pytest.fixture(autouse=True)
def messages_in_english():
    with translation.override("en"):
        yield
