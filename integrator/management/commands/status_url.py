"""`manage.py status_url --customer ID [--rotate]`: print the customer's status page link.

The link is made the first time and printed again on later calls (its token is kept encrypted
like connection credentials; pages are found by its hash). --rotate makes a new link and stops
the old one at once. The address starts with settings.SITE_URL or --base-url.
"""

from django.core.management.base import BaseCommand, CommandError

from billing.models import Customer
from integrator.models import StatusPage
from integrator.status import status_link


class Command(BaseCommand):
    help = "Prints a customer's read-only status page link (a new one with --rotate)."

    def add_arguments(self, parser):
        parser.add_argument("--customer", type=int, required=True, help="The customer's id.")
        parser.add_argument(
            "--rotate",
            action="store_true",
            help="Replace the customer's link; the old one stops working at once.",
        )
        parser.add_argument("--base-url", help="Scheme and host, e.g. https://status.example.se")

    def handle(self, *args, customer: int, rotate: bool, base_url: str | None, **options):
        try:
            owner = Customer.objects.get(pk=customer)
        except Customer.DoesNotExist as exc:
            raise CommandError(f"No customer with id {customer}.") from exc
        page = StatusPage.objects.filter(customer=owner).first()
        token = page.token() if page and not rotate else ""
        if not token:
            _page, token = StatusPage.issue(owner)
        self.stdout.write(status_link(token, base_url))
