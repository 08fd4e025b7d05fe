"""`manage.py status_url --customer ID [--rotate]`: print the customer's status page link.

Only a hash of the link's token is stored, so a link can be printed once, when it is made. A
customer who already has one gets a new one only with --rotate, which stops the old link at once.
The address starts with settings.SITE_URL (default http://localhost:8000) or --base-url.
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
        if StatusPage.objects.filter(customer=owner).exists() and not rotate:
            raise CommandError(
                f"{owner} already has a status page link. Only its hash is kept, so it cannot "
                "be shown again; run with --rotate to make a new one (the old one stops working)."
            )
        _page, token = StatusPage.issue(owner)
        self.stdout.write(status_link(token, base_url))
