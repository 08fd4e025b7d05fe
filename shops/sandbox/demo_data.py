"""Deterministic demo data: the demo merchants' Visma companies (and their OAuth clients), and the
credentials of the two Jetshop/Norce shops, whose orders and catalogue are in demo_jetshop.

- norrsken, fjallbok: a Jetshop shop and a Visma company carrying the same article numbers
  (fjallbok's company lacks the order module, to show that error).
- fjallmode (Fjällmode AB: clothing 25 %, books 6 %) and kaffebonan (Kaffebönan AB: coffee 6 %,
  accessories 25 %): Visma companies only; their shops and gateways are other systems. Articles
  another system's demo sells can be added with POST /_sandbox/visma/articles.

Tenants are told apart the way the real systems do it:
- Jetshop / Norce: by the tenant's API host, which in the sandbox is a path segment:
  base_url `{SANDBOX_URL}/jetshop/<shop slug>` (real: `https://<slug>.api-se.norce.tech`).
- Visma: by the OAuth client / token: each demo client belongs to one company;
  base_url `{SANDBOX_URL}/visma` for all of them (real: https://eaccountingapi.vismaonline.com).

`seed_demo` uses `demo_connection_any(system, tenant, sandbox_url)`; it returns the base URL and
the credentials to store on the Connection.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from shops.sandbox.state import mint_token

_NAMESPACE = uuid.UUID("6f1c0c3e-1d0a-4b8e-9f63-2d7e5c1a9b40")
TWO = Decimal("0.01")


def stable_id(*parts: object) -> str:
    """The same id on every start, so links made by the demo survive a sandbox restart."""
    return str(uuid.uuid5(_NAMESPACE, "/".join(str(p) for p in parts)))


# --- tenants and credentials ------------------------------------------------------------------

NORRSKEN = "norrsken"  # Norrsken Hem & Kök AB: kitchenware 25 %, food 6 %, catering 12 %, books 6 %
FJALLBOK = "fjallbok"  # Fjällbokhandeln i Åre AB: books 6 %, outdoor gear 25 %
FJALLMODE = "fjallmode"  # Fjällmode AB: clothing 25 %, books 6 %
KAFFEBONAN = "kaffebonan"  # Kaffebönan AB: coffee 6 %, accessories 25 %
# The Visma company seed_demo's Fjällmode multishop uses: the articles its Shopify and WooCommerce
# shops sell, as the merchant set them up. (The plain "fjallmode" company keeps its own small
# catalogue, which the catalogue tests build on.)
FJALLMODE_SHOPS = "fjallmode-shops"
GATEWAY_MERCHANTS = (FJALLMODE, FJALLMODE_SHOPS, KAFFEBONAN)  # payouts booked in Visma for these
JETSHOP_TENANTS = (NORRSKEN, FJALLBOK)
VISMA_TENANTS = (NORRSKEN, FJALLBOK, FJALLMODE, FJALLMODE_SHOPS, KAFFEBONAN)
DEMO_TENANTS = JETSHOP_TENANTS  # the tenants with both a shop and a Visma company here

COMPANY_NAMES = {
    NORRSKEN: "Norrsken Hem & Kök AB",
    FJALLBOK: "Fjällbokhandeln i Åre AB",
    FJALLMODE: "Fjällmode AB",
    FJALLMODE_SHOPS: "Fjällmode AB",
    KAFFEBONAN: "Kaffebönan AB",
}
JETSHOP_APPLICATION_IDS = {NORRSKEN: 1001, FJALLBOK: 2001}
# Visma modules beyond the basics; a company without "order_standard" cannot use /v2/orders.
VISMA_MODULES = {
    NORRSKEN: ["order_standard"],
    FJALLBOK: [],
    FJALLMODE: ["order_standard"],
    FJALLMODE_SHOPS: ["order_standard"],
    KAFFEBONAN: ["order_standard"],
}


# CompanySettings.ProductVariant: 5 is Pro, the variant with sales price lists; 1 is Standard.
PRO_VARIANT = 5
VISMA_VARIANTS = {
    NORRSKEN: PRO_VARIANT,
    FJALLBOK: 1,
    FJALLMODE: 1,
    FJALLMODE_SHOPS: PRO_VARIANT,
    KAFFEBONAN: 1,
}


def initial_refresh_token(client_id: str, company: str) -> str:
    # Signed and deterministic: what the merchant's first OAuth consent would have given us.
    return mint_token("visma-refresh", cid=client_id, co=company, jti="initial")


DEMO_CREDENTIALS: dict[str, dict[str, dict[str, Any]]] = {
    "visma": {
        tenant: {
            "client_id": f"demo-{tenant}",
            "client_secret": f"demo-{tenant}-visma-secret",
            "refresh_token": initial_refresh_token(f"demo-{tenant}", tenant),
            "access_token": "",
            "expires_at": 0,
        }
        for tenant in VISMA_TENANTS
    },
    "jetshop": {
        tenant: {
            "client_id": f"{tenant}-integration",
            "client_secret": f"demo-{tenant}-norce-secret",
            "application_id": JETSHOP_APPLICATION_IDS[tenant],
            "scope": "prod",
        }
        for tenant in JETSHOP_TENANTS
    },
}


def demo_connection(system: str, tenant: str, sandbox_url: str) -> tuple[str, dict[str, Any]]:
    """(base_url, credentials) for a demo Connection to the sandbox at `sandbox_url`."""
    root = sandbox_url.rstrip("/")
    credentials = dict(DEMO_CREDENTIALS[system][tenant])
    if system == "visma":
        return f"{root}/visma", {**credentials, "token_url": f"{root}/visma/connect/token"}
    if system == "jetshop":
        base = f"{root}/jetshop/{tenant}"
        return base, {**credentials, "token_url": f"{base}/identity/1.0/connect/token"}
    raise LookupError(f"No demo data for {system!r}")


def demo_connection_any(system: str, tenant: str, sandbox_url: str) -> tuple[str, dict[str, Any]]:
    """Like demo_connection, for every system the sandbox serves: systems other than Visma and
    Jetshop keep their demo tenants in their own module (`demo_connection` on their class)."""
    from shops.sandbox.systems import system_class

    if system in DEMO_CREDENTIALS and tenant in DEMO_CREDENTIALS[system]:
        return demo_connection(system, tenant, sandbox_url)
    cls = system_class(system)
    if not hasattr(cls, "demo_connection"):
        raise LookupError(f"No demo data for {system!r}")
    return cls.demo_connection(tenant, sandbox_url.rstrip("/"))


# --- Visma: VAT codings, terms of payment, articles ------------------------------------------

VAT_CODINGS = [
    {"Name": "Försäljning varor 25 % moms", "VatRatePercent": Decimal("25"), "Account": 3001},
    {"Name": "Försäljning varor 12 % moms", "VatRatePercent": Decimal("12"), "Account": 3002},
    {"Name": "Försäljning varor 6 % moms", "VatRatePercent": Decimal("6"), "Account": 3003},
]
TERMS_OF_PAYMENT = [
    ("30 dagar netto", "30 days net", 30),
    ("10 dagar netto", "10 days net", 10),
    ("Kontant", "Cash", 0),
]
SHIPPING_ARTICLE = "FRAKT"

# number, name, VAT rate, price excl. VAT: the same article numbers as the shop's PartNo.
ARTICLES: dict[str, list[tuple[str, str, int, str]]] = {
    NORRSKEN: [
        ("KOK-1001", "Gjutjärnsgryta 4 l", 25, "1196.00"),
        ("KOK-1002", "Kockkniv 20 cm", 25, "639.20"),
        ("KOK-1003", "Skärbräda ek", 25, "359.20"),
        ("MAT-2001", "Kaffe mörkrost 500 g", 6, "89.00"),
        ("MAT-2002", "Lingonsylt 400 g", 6, "45.00"),
        ("MAT-2003", "Knäckebröd råg", 6, "32.00"),
        ("BOK-3001", "Kokbok: Nordiskt kök", 6, "279.00"),
        ("CAT-4001", "Cateringpaket fika 10 pers.", 12, "890.00"),
        (SHIPPING_ARTICLE, "Frakt", 25, "39.20"),
    ],
    FJALLBOK: [
        ("BOK-5001", "Fjällvandring i Jämtland", 6, "245.00"),
        ("BOK-5002", "Kungsleden – vandringsguide", 6, "199.00"),
        ("KAR-5101", "Fjällkarta BD6 Abisko–Kebnekaise", 6, "139.00"),
        ("UTR-6001", "Pannlampa 400 lm", 25, "359.20"),
        (SHIPPING_ARTICLE, "Frakt", 25, "39.20"),
    ],
    FJALLMODE: [
        ("FM-JACKA-01", "Fjälljacka dam", 25, "1999.20"),
        ("FM-JACKA-02", "Fjälljacka herr", 25, "1999.20"),
        ("FM-TROJA-01", "Ulltröja merino", 25, "799.20"),
        ("FM-BYXA-01", "Vandringsbyxa", 25, "719.20"),
        ("FM-MOSSA-01", "Mössa ull", 25, "239.20"),
        ("FM-SOCKA-01", "Ullsockor 2-pack", 25, "159.20"),
        ("FM-BOK-01", "Bok: Klä dig för fjället", 6, "235.85"),
        ("FM-BOK-02", "Bok: Lager på lager", 6, "188.68"),
        (SHIPPING_ARTICLE, "Frakt", 25, "39.20"),
    ],
    KAFFEBONAN: [
        ("KB-BRYGG-500", "Bryggkaffe mellanrost 500 g", 6, "84.91"),
        ("KB-ESPR-1000", "Espressobönor 1 kg", 6, "216.98"),
        ("KB-KOFF-250", "Koffeinfritt 250 g", 6, "70.75"),
        ("KB-TE-100", "Rooibos 100 g", 6, "56.60"),
        ("KB-KVARN-01", "Kaffekvarn manuell", 25, "519.20"),
        ("KB-PRESS-08", "Presskanna 0,8 l", 25, "319.20"),
        ("KB-MUGG-01", "Keramikmugg", 25, "127.20"),
        (SHIPPING_ARTICLE, "Frakt", 25, "39.20"),
    ],
}


UNITS = [("Styck", "st", "pcs"), ("Timme", "h", "hour"), ("Kilogram", "kg", "kg")]
# Code, description, rate (a fraction, as Visma gives it).
VAT_CODES = [
    ("10", "Utgående moms 25 %", "0.25"),
    ("11", "Utgående moms 12 %", "0.12"),
    ("12", "Utgående moms 6 %", "0.06"),
    ("48", "Ingående moms", "0.25"),
]
# BAS 2026 accounts the product books on (DESIGN.md §4), in every fiscal year.
ACCOUNTS = [
    (1510, "Kundfordringar"),
    (1580, "Fordringar för kontokort och kuponger"),
    (1686, "Kortfordringar hos betalningsleverantörer"),
    (1930, "Företagskonto"),
    (2611, "Utgående moms på försäljning inom Sverige, 25 %"),
    (2614, "Utgående moms omvänd skattskyldighet, 25 %"),
    (2621, "Utgående moms på försäljning inom Sverige, 12 %"),
    (2631, "Utgående moms på försäljning inom Sverige, 6 %"),
    (2645, "Beräknad ingående moms på förvärv från utlandet"),
    (2670, "Utgående moms på försäljning inom EU, OSS"),
    (3001, "Försäljning inom Sverige, 25 % moms"),
    (3002, "Försäljning inom Sverige, 12 % moms"),
    (3003, "Försäljning inom Sverige, 6 % moms"),
    (3105, "Försäljning varor till land utanför EU"),
    (3106, "Försäljning varor till annat EU-land, momspliktig"),
    (3108, "Försäljning varor till annat EU-land, momsfri"),
    (3740, "Öres- och kronutjämning"),
    (3960, "Valutakursvinster på fordringar och skulder av rörelsekaraktär"),
    (6040, "Kontokortsavgifter"),
    (6570, "Bankkostnader"),
    (7960, "Valutakursförluster på fordringar och skulder av rörelsekaraktär"),
]
# 2025 is closed and locked; 2026 and 2027 are open.
FISCAL_YEARS = [(2025, True), (2026, False), (2027, False)]
ACCOUNTING_LOCKED_TO = "2025-12-31"


def visma_article(
    tenant: str,
    number: str,
    name: str,
    rate: int | Decimal,
    net_price: str | Decimal,
    *,
    stock: Decimal = Decimal("25.00"),
    changed: str = "2026-01-01T00:00:00Z",
) -> dict[str, Any]:
    """An ArticleApi object as Visma stores it, coded for domestic sales at `rate` percent."""
    net = Decimal(str(net_price))
    rate = Decimal(str(rate)).normalize()
    coding = next(c for c in VAT_CODINGS if c["VatRatePercent"] == rate)
    return {
        "Id": stable_id("visma", tenant, "article", number),
        "IsActive": True,
        "Number": number,
        "Name": name,
        "NetPrice": net,
        "GrossPrice": (net * (100 + rate) / 100).quantize(TWO, ROUND_HALF_UP),
        "CodingId": stable_id("visma", tenant, "coding", coding["VatRatePercent"]),
        "CodingName": coding["Name"],
        "UnitId": stable_id("visma", tenant, "unit", "st"),
        "UnitName": "Styck",
        "UnitAbbreviation": "st",
        "StockBalance": stock,
        "StockBalanceReserved": Decimal("0.00"),
        "StockBalanceAvailable": stock,
        "ChangedUtc": changed,
        "SendToWebshop": False,
    }


def _net(price_incl_vat: str, rate: int) -> str:
    return str((Decimal(price_incl_vat) * 100 / (100 + rate)).quantize(TWO))


def _fjallmode_shop_articles() -> list[tuple[str, str, int, str]]:
    """Fjällmode's Visma company knows the articles its Shopify and WooCommerce shops sell, by
    the same article numbers — what the merchant sets up before the demo's multishop runs."""
    from shops.sandbox import shopify_data, woocommerce_data

    rows = []
    for _id, title, rate, variants in shopify_data.PRODUCTS:
        for sku, variant, price, _was, _stock in variants:
            name = title if variant == "Default Title" else f"{title} {variant}"
            rows.append((sku, name, rate, _net(price, rate)))
    rates = woocommerce_data.TAX_RATES
    for _id, name, sku, price, tax_class, _manage, _stock in woocommerce_data.SIMPLE_PRODUCTS:
        rate = int(rates[woocommerce_data.RATE_BY_CLASS[tax_class or "standard"]][0])
        rows.append((sku, name, rate, _net(price, rate)))
    for _id, name, _sku, price, _attr, _qty, variations in woocommerce_data.VARIABLE_PRODUCTS:
        for _vid, option, sku, _qty2 in variations:
            rows.append((sku, f"{name} {option}", 25, _net(price, 25)))
    return rows


ARTICLES[FJALLMODE_SHOPS] = [*_fjallmode_shop_articles(), (SHIPPING_ARTICLE, "Frakt", 25, "39.20")]


def visma_company(tenant: str) -> dict[str, Any]:
    """Every collection of the tenant's demo company, and its settings."""
    from shops.sandbox import demo_visma_sales

    codings = [
        {
            "Id": stable_id("visma", tenant, "coding", c["VatRatePercent"]),
            "Name": c["Name"],
            "NameEnglish": f"Sales of goods {c['VatRatePercent']} % VAT",
            "Type": "Article",
            "VatRate": f"{c['VatRatePercent']}%",
            "VatRatePercent": c["VatRatePercent"],
            "IsActive": True,
            "DomesticSalesSubjectToVatAccountNumber": c["Account"],
            "ChangedUtc": "2026-01-01T00:00:00Z",
        }
        for c in VAT_CODINGS
    ]
    articles = [visma_article(tenant, *row) for row in ARTICLES[tenant]]
    terms = [
        {
            "Id": stable_id("visma", tenant, "terms", name),
            "Name": name,
            "NameEnglish": english,
            "NumberOfDays": days,
            "TermsOfPaymentTypeId": 0 if days else 3,
            "TermsOfPaymentTypeText": "Normal" if days else "Cash",
            "AvailableForSales": True,
            "AvailableForPurchase": True,
        }
        for name, english, days in TERMS_OF_PAYMENT
    ]
    units = [
        {
            "Id": stable_id("visma", tenant, "unit", abbreviation),
            "Name": name,
            "Code": code,
            "Abbreviation": abbreviation,
        }
        for name, abbreviation, code in UNITS
    ]
    vat_codes = [
        {
            "Id": stable_id("visma", tenant, "vatcode", code),
            "Code": code,
            "Description": description,
            "VatRate": Decimal(rate),
        }
        for code, description, rate in VAT_CODES
    ]
    years = [
        {
            "Id": stable_id("visma", tenant, "fiscalyear", year),
            "StartDate": datetime.date(year, 1, 1).isoformat(),
            "EndDate": datetime.date(year, 12, 31).isoformat(),
            "IsLockedForAccounting": locked,
            "BookkeepingMethod": 0,
        }
        for year, locked in FISCAL_YEARS
    ]
    accounts = [
        {
            "Name": name,
            "Number": str(number),
            "FiscalYearId": year["Id"],
            "IsActive": True,
            "IsProjectAllowed": False,
            "IsCostCenterAllowed": False,
            "IsBlockedForManualBooking": False,
            "ModifiedUtc": "2026-01-01T00:00:00Z",
        }
        for year in years
        for number, name in ACCOUNTS
    ]
    bank_accounts = [
        {
            "Id": stable_id("visma", tenant, "bankaccount", 1930),
            "BankAccountType": 1,
            "BankAccountTypeDescription": "ChequeAccount",
            "Bban": "5566-1234567",
            "Name": "Företagskonto",
            "IsActive": True,
            "LedgerAccountNumber": 1930,
            "HasActiveBankAgreement": False,
            "IsDefaultChequeAccount": True,
        }
    ]
    if tenant in GATEWAY_MERCHANTS:
        # Set up once by a merchant whose payment gateway payouts we book: the gateway's
        # payments land on the clearing account 1686 (see the README, "Payouts to Visma").
        bank_accounts.append(
            {
                "Id": f"00000000-0000-0000-0000-00000000{1686:04d}",
                "BankAccountType": 5,
                "Name": "Betaltjänster",
                "IsActive": True,
                "LedgerAccountNumber": 1686,
                "HasActiveBankAgreement": False,
                "IsDefaultChequeAccount": False,
            }
        )
    settings = {
        "Name": COMPANY_NAMES[tenant],
        "CountryCode": "SE",
        "CurrencyCode": "SEK",
        "AccountingLockedTo": ACCOUNTING_LOCKED_TO,
        "ProductVariant": VISMA_VARIANTS[tenant],
        "ActivatedModules": list(VISMA_MODULES[tenant]),
    }
    return {
        "articleaccountcodings": codings,
        "articles": articles,
        "termsofpayments": terms,
        "units": units,
        "vatcodes": vat_codes,
        "fiscalyears": years,
        "accounts": accounts,
        "bankaccounts": bank_accounts,
        "companysettings": settings,
        **demo_visma_sales.extras(tenant, articles),
    }
