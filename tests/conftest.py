"""Fixtures shared by every test folder. Builders for test data live in tests/factories.py and
the real django-q2 cluster for `@pytest.mark.queue` tests in tests/queue_cluster.py; the sandbox
fixtures (a real loopback server of the external APIs) are defined in tests/shops/conftest.py."""

from tests.shops.conftest import quick_retries, sandbox, sandbox_server, sandbox_url  # noqa: F401
