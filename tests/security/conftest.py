"""The security tests use the status page's two merchants (Kaffebönan looks, Konkurrenten must
never show) from tests/status."""

from tests.billing.conftest import manager  # noqa: F401, E402
from tests.status.conftest import fresh_rate_limits, kaffe, now, rival  # noqa: F401
