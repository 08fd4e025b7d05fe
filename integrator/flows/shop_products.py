"""Writing articles from Visma to the shops (products ERP → shop, and the initial sync's creates):
one writer per platform, each creating a product only after searching its article number, so a
lost answer or a crash never makes a second one."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from django.utils.translation import gettext as _

from integrator.flows.catalogue import (
    ENTITY_PRODUCT,
    ITEM_ATTEMPTS,
    TRANSIENT_ERRORS,
    Article,
    Unsupported,
    back_off,
    digest,
    gross,
    import_failure,
    intend,
    link_for,
    record,
    retrying,
    run_import,
    skip_unchanged,
    unchanged,
)
from integrator.flows.shop_vat import SHOPIFY_OPTION, ShopifyVatRates, check_vat_rate
from integrator.models import Link, SyncItem, SyncJob
from shops.clients.errors import ApiError, AuthExpired
from shops.clients.registry import client_for
from shops.clients.types import NewShopProduct, ShopVariant
from shops.models import Connection

Outcome = SyncItem.Outcome
CHUNK = 100  # items per shop import or batch request
# WooCommerce knows tax classes, not rates. Only the standard class is safe to assume for 25 %;
# any other rate needs the integration option `woocommerce_tax_classes`, e.g. {"6": "reduced-rate"}.
DEFAULT_TAX_CLASSES = {"25": ""}


def check_woocommerce_tax_classes(classes: Any) -> None:
    """ValueError saying what is wrong with an integration's woocommerce_tax_classes option. A
    rate is looked up as "25", "12", "6" or "0": "25 %" or 25.0 would never be found."""
    if not isinstance(classes, dict):
        raise ValueError(_("give an object of {VAT rate: tax class slug}."))
    for rate, slug in classes.items():
        plain = format(check_vat_rate(rate), "f")
        if rate != plain:
            raise ValueError(
                _("write the rate %(rate)r as %(plain)s.") % {"rate": rate, "plain": plain}
            )
        if not isinstance(slug, str):
            raise ValueError(
                _('the tax class for %(rate)s %% must be a slug ("" is the standard class).')
                % {"rate": rate}
            )


def shop_writer(job: SyncJob, connection: Connection) -> ShopProductWriter:
    writers: dict[str, type[ShopProductWriter]] = {
        Connection.Platform.JETSHOP: JetshopProducts,
        Connection.Platform.WOOCOMMERCE: WooCommerceProducts,
        Connection.Platform.SHOPIFY: ShopifyProducts,
    }
    if connection.platform not in writers:
        raise Unsupported(
            _("%(platform)s: creating and updating products is not supported yet.")
            % {"platform": connection.get_platform_display()}
        )
    return writers[connection.platform](job, connection, client_for(connection))


class ShopProductWriter:
    """Writes a chunk of articles to one shop; returns the keys that failed."""

    def __init__(self, job: SyncJob, connection: Connection, client: Any) -> None:
        self.job = job
        self.connection = connection
        self.client = client
        self._prices_include_tax: bool | None = None

    def shop_price(self, article: Article) -> Decimal | None:
        """Visma's price (excl. VAT) as the shop shows prices: a new product's starting price.
        After that the prices flow owns it, so updates leave the price alone."""
        if article.price is None:
            return None
        if self._prices_include_tax is None:
            self._prices_include_tax = retrying(self.client.prices_include_tax)
        if self._prices_include_tax:
            return gross(article.price, article.vat_rate or Decimal(0))
        return article.price

    def write(self, articles: list[Article], *, label: str = "") -> set[str]:
        job = self.job
        erp = job.integration.erp
        todo: list[tuple[Article, Link, str]] = []
        failed: set[str] = set()
        for article in articles:
            link = link_for(job, ENTITY_PRODUCT, erp, article.key, self.connection)
            fp = digest(article.values())
            if unchanged(link, fp):
                skip_unchanged(job, ENTITY_PRODUCT, article.key, link)  # type: ignore[arg-type]
                continue
            problem = self.problem(article)
            if problem:
                record(job, ENTITY_PRODUCT, article.key, Outcome.FAILED, problem)
                failed.add(article.key)
                continue
            link = intend(job, ENTITY_PRODUCT, erp, article.key, self.connection, article.number)
            todo.append((article, link, fp))
        if not todo:
            return failed
        try:
            outcomes = self.send([a for a, _link, _fp in todo])
        except AuthExpired:
            raise
        except ApiError as exc:
            outcomes = {a.number: ("", exc.message) for a, _link, _fp in todo}
        for article, link, fp in todo:
            remote_id, problem = outcomes.get(article.number, ("", _("The shop did not answer.")))
            if problem:
                # The link stays pending and keeps no fingerprint: the next run sends it again.
                record(job, ENTITY_PRODUCT, article.key, Outcome.FAILED, problem)
                failed.add(article.key)
                continue
            link.mark_done(remote_id, fingerprint=fp)
            record(
                job,
                ENTITY_PRODUCT,
                article.key,
                Outcome.TRANSFERRED,
                label or _("Sent to %(shop)s.") % {"shop": self.connection.name},
                remote_id=remote_id,
            )
        return failed

    def problem(self, article: Article) -> str:
        if article.vat_rate is None:
            return _("Visma gives no VAT rate for this article (its coding is unknown).")
        return ""

    def send(self, articles: list[Article]) -> dict[str, tuple[str, str]]:
        """(remote id, problem) per article number."""
        raise NotImplementedError


class JetshopProducts(ShopProductWriter):
    """Norce imports are upserts by PartNo: sending a product twice never makes two, so the
    search before create is the import itself. They are asynchronous: start, then wait."""

    def send(self, articles: list[Article]) -> dict[str, tuple[str, str]]:
        products = [
            NewShopProduct(
                part_no=a.number, name=a.name, vat_rate=a.vat_rate or Decimal(0), active=a.active
            )
            for a in articles
        ]
        imported = run_import(self.client, lambda: self.client.import_products(products))
        return {a.number: (a.number, import_failure(imported, a.number)) for a in articles}


class WooCommerceProducts(ShopProductWriter):
    """Products are searched by SKU before anything is created, again before every retry."""

    def problem(self, article: Article) -> str:
        if article.vat_rate is None:
            return super().problem(article)
        if self.tax_class(article.vat_rate) is None:
            return _(
                "No WooCommerce tax class is set for %(rate)s %% VAT (integration option "
                "woocommerce_tax_classes); we never guess one."
            ) % {"rate": format(article.vat_rate.normalize(), "f")}
        return ""

    def tax_class(self, rate: Decimal) -> str | None:
        classes = self.job.integration.options.get("woocommerce_tax_classes", DEFAULT_TAX_CLASSES)
        return classes.get(format(rate.normalize(), "f"))

    def body(self, article: Article) -> dict[str, Any]:
        return {
            "name": article.name,
            "status": "publish" if article.active else "draft",
            "tax_class": self.tax_class(article.vat_rate or Decimal(0)) or "",
        }

    def send(self, articles: list[Article]) -> dict[str, tuple[str, str]]:
        by_number = {a.number: a for a in articles}
        outcomes: dict[str, tuple[str, str]] = {}
        for attempt in range(1, ITEM_ATTEMPTS + 1):
            # Searched before every attempt: a batch whose answer was lost may have created
            # some; those are updated now, not created again.
            wanted = [n for n in by_number if n not in outcomes]
            found = retrying(partial(self.client.variants_by_sku, wanted))
            updates, creates = [], []
            for number in wanted:
                variant, body = found.get(number), self.body(by_number[number])
                if variant is None:
                    price = self.shop_price(by_number[number])
                    if price is not None:
                        body["regular_price"] = str(price)
                    creates.append({"sku": number, "type": "simple", **body})
                elif variant.product_id != variant.variant_id:
                    outcomes[number] = (
                        "",
                        _("A variation in WooCommerce; products here have none."),
                    )
                else:
                    updates.append({"id": int(variant.variant_id), **body})
            try:
                result = self.client.batch_products(create=creates, update=updates)
            except TRANSIENT_ERRORS as exc:
                if attempt == ITEM_ATTEMPTS:
                    raise
                back_off(exc, attempt)
                continue
            for variant in result.created + result.updated:
                outcomes[variant.sku] = (variant.variant_id, "")
            for error in result.errors:
                number = error.key if error.key in by_number else _sku_of(found, error.key)
                outcomes[number] = ("", f"WooCommerce: {error.message}")
            break
        return outcomes


def _sku_of(found: dict[str, Any], remote_id: str) -> str:
    return next((sku for sku, v in found.items() if v.variant_id == remote_id), remote_id)


class ShopifyProducts(ShopProductWriter):
    """One product with one variant per article. Shopify accepts a SKU twice, so the SKU is
    searched before every create, and again after a create whose answer was lost (once the
    write has had time to land) before anything is sent again."""

    def __init__(self, job: SyncJob, connection: Connection, client: Any) -> None:
        super().__init__(job, connection, client)
        self.vat = ShopifyVatRates.from_options(job.integration.options)

    def problem(self, article: Article) -> str:
        if article.vat_rate is None:
            return super().problem(article)
        if self.vat.product_type_for(article.vat_rate) is None:
            return _(
                "No Shopify product type is mapped to %(rate)s %% VAT in the integration option "
                "%(option)s, so Shopify would charge another rate; we never guess one."
            ) % {"rate": format(article.vat_rate.normalize(), "f"), "option": SHOPIFY_OPTION}
        return ""

    def new_product(self, article: Article) -> NewShopProduct:
        rate = article.vat_rate or Decimal(0)
        return NewShopProduct(
            part_no=article.number,
            name=article.name,
            vat_rate=rate,
            active=article.active,
            price=self.shop_price(article),
            product_type=self.vat.product_type_for(rate) or "",
        )

    def send(self, articles: list[Article]) -> dict[str, tuple[str, str]]:
        found = retrying(partial(self.client.variants_by_sku, [a.number for a in articles]))
        return {a.number: self._send_one(a, found.get(a.number)) for a in articles}

    def _send_one(self, article: Article, variant: ShopVariant | None) -> tuple[str, str]:
        """(variant id, "") or ("", why not)."""
        product = self.new_product(article)
        for attempt in range(1, ITEM_ATTEMPTS + 1):
            try:
                if variant is None:
                    return self.client.create_product(product).variant_id, ""
                if not variant.only_variant:
                    return "", _(
                        "A variant of a Shopify product with several; products here have none."
                    )
                self.client.update_product(variant.product_id, product)
                return variant.variant_id, ""
            except AuthExpired:
                raise
            except TRANSIENT_ERRORS as exc:
                if attempt == ITEM_ATTEMPTS:
                    return "", exc.message
                back_off(exc, attempt, let_lost_write_land=True)
                search = partial(self.client.variants_by_sku, [article.number])
                variant = retrying(search).get(article.number)
            except ApiError as exc:
                return "", exc.message
        return "", _("The shop did not answer.")
