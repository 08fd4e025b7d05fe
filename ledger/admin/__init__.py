"""Admin for the settlement ledger. Payouts and lines are what the gateway reported (the importer
writes them) and vouchers are bookkeeping made once: none of them is edited here. What support
staff do to them — import a file, match again, book, mark a line handled, set a rate — goes
through ledger.services, which checks the rules and writes the audit trail."""

# Importing the modules registers their ModelAdmins.
from ledger.admin import lines, payouts, vouchers  # noqa: F401
