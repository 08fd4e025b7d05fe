"""The fuzz tests use the ledger tests' gateways and samples (English messages, Plus/Basic)."""

from tests.ledger.conftest import basic, english, merchant, plus  # noqa: F401
