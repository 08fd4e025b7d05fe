"""The accounts a customer books to: BAS 2026 defaults (DESIGN.md section 4), every one
configurable per customer. `AccountPlan.for_customer` gives the defaults until one is saved."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from billing.models import Customer

# Gateways whose fees come from abroad (Stripe and Shopify Payments from Ireland, PayPal from
# Luxembourg): their fees carry reverse-charge VAT. Klarna, Nets and Svea invoice from Sweden,
# and their fees are VAT-exempt financial services: no reverse charge.
FOREIGN_FEE_PLATFORMS = frozenset({"stripe", "paypal", "shopify_payments"})

# Names for the SIE #KONTO records (BAS 2026).
BAS_NAMES = {
    "1510": "Kundfordringar",
    "1580": "Fordringar för kontokort och presentkort",
    "1686": "Fordringar på betaltjänstleverantörer",
    "1930": "Företagskonto/checkkonto/affärskonto",
    "2611": "Utgående moms på försäljning inom Sverige, 25 %",
    "2614": "Utgående moms omvänd skattskyldighet, 25 %",
    "2621": "Utgående moms på försäljning inom Sverige, 12 %",
    "2631": "Utgående moms på försäljning inom Sverige, 6 %",
    "2641": "Debiterad ingående moms",
    "2645": "Beräknad ingående moms på förvärv från utlandet",
    "2670": "Utgående moms på försäljning av varor och tjänster (OSS)",
    "3001": "Försäljning inom Sverige, 25 % moms",
    "3002": "Försäljning inom Sverige, 12 % moms",
    "3003": "Försäljning inom Sverige, 6 % moms",
    "3105": "Försäljning varor till land utanför EU",
    "3106": "Försäljning varor till annat EU-land, momspliktig (OSS)",
    "3108": "Försäljning varor till annat EU-land, momsfri",
    "3740": "Öres- och kronutjämning",
    "3960": "Valutakursvinster på fordringar och skulder av rörelsekaraktär",
    "6040": "Kontokortsavgifter",
    "6570": "Bankkostnader",
    "7960": "Valutakursförluster på fordringar och skulder av rörelsekaraktär",
}


def _account(label: str, default: str) -> models.CharField:
    return models.CharField(label, max_length=10, default=default)


class AccountPlan(models.Model):
    customer = models.OneToOneField(
        Customer, verbose_name=_("customer"), on_delete=models.CASCADE, related_name="account_plan"
    )
    accounting_currency = models.CharField(_("accounting currency"), max_length=3, default="SEK")
    home_country = models.CharField(_("home country"), max_length=2, default="SE")
    sells_in_several_countries = models.BooleanField(
        _("sells in several countries"),
        default=False,
        help_text=_(
            "PayPal Plus and Stripe Plus cannot be booked then: those gateways report no VAT rates."
        ),
    )
    plus_vat_rate = models.DecimalField(
        _("Plus: VAT rate of sales the gateway gives no rate for (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "Only when every sale of the merchant carries this one rate (25, 12 or 6). Empty: a "
            "Plus sale without a rate from the gateway is not booked; it waits with that reason."
        ),
    )
    plus_article_prefix = models.CharField(
        _("Plus: article number prefix of the generic articles"),
        max_length=10,
        default="PLUS",
        help_text=_('One generic article per VAT rate, e.g. "PLUS-25", found or created in Visma.'),
    )
    refund_article_prefix = models.CharField(
        _("refunds: article number prefix of the refund articles"),
        max_length=10,
        default="RETUR",
        help_text=_(
            "A refund that is not exactly some of the invoice's rows is credited per VAT rate on "
            'one article per rate, e.g. "RETUR-25" (coded for domestic sales at that rate), found '
            "or created in Visma."
        ),
    )
    receivables = _account(_("customer receivables"), "1510")
    clearing = _account(_("payment-provider receivables (clearing)"), "1686")
    clearing_by_platform = models.JSONField(
        _("clearing account per gateway"),
        default=dict,
        blank=True,
        help_text=_('e.g. {"paypal": "1687"}; gateways not listed use the clearing account.'),
    )
    bank = _account(_("bank"), "1930")
    sales_25 = _account(_("sales 25 % VAT"), "3001")
    sales_12 = _account(_("sales 12 % VAT"), "3002")
    sales_6 = _account(_("sales 6 % VAT"), "3003")
    sales_eu_oss = _account(_("sales to the EU (OSS)"), "3106")
    sales_eu_b2b = _account(_("sales to EU businesses"), "3108")
    sales_outside_eu = _account(_("sales outside the EU"), "3105")
    output_vat_25 = _account(_("output VAT 25 %"), "2611")
    output_vat_12 = _account(_("output VAT 12 %"), "2621")
    output_vat_6 = _account(_("output VAT 6 %"), "2631")
    output_vat_oss = _account(_("OSS output VAT"), "2670")
    fees = _account(_("gateway fees"), "6570")
    fee_input_vat = _account(_("input VAT on fees"), "2641")
    reverse_charge_output = _account(_("reverse-charge output VAT"), "2614")
    reverse_charge_input = _account(_("reverse-charge input VAT"), "2645")
    reverse_charge_rate = models.DecimalField(
        _("reverse-charge VAT rate (%)"), max_digits=5, decimal_places=2, default=Decimal("25.00")
    )
    rounding = _account(_("rounding"), "3740")
    exchange_gain = _account(_("exchange gains"), "3960")
    exchange_loss = _account(_("exchange losses"), "7960")

    class Meta:
        verbose_name = _("account plan")
        verbose_name_plural = _("account plans")

    def __str__(self) -> str:
        return str(self.customer)

    @classmethod
    def for_customer(cls, customer: Customer) -> AccountPlan:
        """The customer's saved plan, or the BAS defaults (not saved) when there is none."""
        return cls.objects.filter(customer=customer).first() or cls(customer=customer)

    def clearing_for(self, platform: str) -> str:
        return str(self.clearing_by_platform.get(platform) or self.clearing)
