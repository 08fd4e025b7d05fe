"""How a Shopify product's VAT rate is found from what support staff mapped, and a shop price
brought to excl. VAT: a rate is never guessed."""

from __future__ import annotations

from decimal import Decimal

from integrator.flows.catalogue import net_price
from integrator.flows.shop_vat import ShopifyVatRates
from shops.clients.types import ShopListedItem


def item(product_type: str = "", tags: tuple[str, ...] = (), taxable: bool = True):
    return ShopListedItem(
        sku="X-1",
        product_id="p",
        variant_id="v",
        name="Vara",
        active=True,
        price=Decimal("125.00"),
        prices_include_tax=True,
        vat_rate=None if taxable else Decimal(0),
        product_type=product_type,
        tags=tags,
    )


MAPPING = {
    "default": "25",
    "product_types": {"Böcker": "6", "Livsmedel": "12 %"},
    "tags": {"moms-6": 6, "moms-12": "12"},
}


def test_a_tag_wins_over_the_product_type_and_the_type_over_the_default():
    rates = ShopifyVatRates.from_options({"shopify_vat_rates": MAPPING})

    assert rates.rate_of(item("Böcker", ("MOMS-12",))) == (Decimal(12), "")
    assert rates.rate_of(item("böcker")) == (Decimal(6), "")
    assert rates.rate_of(item("Kläder")) == (Decimal(25), "")
    assert rates.rate_of(item("Kläder", taxable=False)) == (Decimal(0), "")


def test_tags_that_disagree_or_a_mapping_that_is_not_a_rate_give_no_rate_and_say_why():
    rates = ShopifyVatRates.from_options({"shopify_vat_rates": MAPPING})
    rate, why = rates.rate_of(item(tags=("moms-6", "moms-12")))
    assert rate is None and "6 %, 12 %" in why

    broken = ShopifyVatRates.from_options({"shopify_vat_rates": {"product_types": {"Bok": "sex"}}})
    rate, why = broken.rate_of(item("Bok"))
    assert rate is None and "product_types.Bok" in why


def test_without_a_mapping_a_taxable_product_has_no_rate():
    rate, why = ShopifyVatRates.from_options({}).rate_of(item("Kläder"))
    assert rate is None and "shopify_vat_rates" in why and "never guess" in why


def test_a_new_product_gets_the_product_type_its_rate_is_mapped_to():
    rates = ShopifyVatRates.from_options({"shopify_vat_rates": MAPPING})

    assert rates.product_type_for(Decimal(25)) == ""  # the shop's own rate: no type needed
    assert rates.product_type_for(Decimal(6)) == "Böcker"
    assert rates.product_type_for(Decimal(7)) is None


def test_a_price_incl_vat_is_brought_to_excl_vat_and_one_excl_vat_is_kept():
    assert net_price(Decimal("249.00"), Decimal(6), incl_vat=True) == Decimal("234.91")
    assert net_price(Decimal("249.00"), Decimal(6), incl_vat=False) == Decimal("249.00")
    assert net_price(Decimal("249.00"), None, incl_vat=True) is None
