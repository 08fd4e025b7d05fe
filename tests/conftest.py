"""Fixtures shared by every test folder go here; builders for test data live in tests/factories.py
and the real django-q2 cluster for `@pytest.mark.queue` tests in tests/queue_cluster.py."""
