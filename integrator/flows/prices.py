"""Prices and price lists, Visma → shop (flows 2 and 3; price lists need package 400).

Visma eEkonomi has one ordinary price per article and no price lists, so:
- **prices** sets the ordinary price where each shop keeps it: Jetshop/Norce the ordinary
  (open-ended) price list, or the one named by the integration option `price_list`; Shopify and
  WooCommerce the variant's price (incl. VAT when the shop's prices include tax). On WooCommerce
  setting the price ends a sale the merchant scheduled in the shop: the ERP is the master.
- **price lists** sets the ordinary price in every open-ended Jetshop price list (or those named
  by the option `price_lists`). A campaign list would get the campaign price with the ordinary
  price as "was" price, but Visma's API gives no campaign price (see `campaign_price`), so
  campaign lists are left as they are and each item says so. Shopify and WooCommerce have no
  price lists (WooCommerce's nearest thing is a scheduled sale price, Shopify's a Markets
  catalogue, which our clients do not speak): each item says so and nothing is sent.

The plugins' `article_number()` maps the number and `price()` changes the price (a markup)
before anything is compared or sent. Only changed prices are sent: each link keeps a fingerprint
of what was last set in that shop. Setting a price is idempotent, so a retry may simply send it
again; there is nothing to create and nothing to search for first.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from integrator import services
from integrator.flows.catalogue import (
    ENTITY_PRICE,
    ENTITY_PRICE_LIST,
    Article,
    Unsupported,
    digest,
    from_erp,
    gross,
    import_failure,
    is_service_article,
    link_for,
    only_keys,
    read_cursor,
    record,
    retrying,
    run_import,
    save_cursor,
    skip_unchanged,
    standard_price_list,
    unchanged,
)
from integrator.models import Link, SyncItem, SyncJob
from integrator.plugins import Pipeline
from shops.clients.errors import ApiError, AuthExpired
from shops.clients.registry import client_for
from shops.clients.types import ErpArticle, NewShopPrice, ShopPriceChange
from shops.models import Connection

Outcome = SyncItem.Outcome
CHUNK = 100


def sync_prices(job: SyncJob) -> None:
    _sync(job, ENTITY_PRICE)


def sync_price_lists(job: SyncJob) -> None:
    _sync(job, ENTITY_PRICE_LIST)


def campaign_price(article: ErpArticle) -> Decimal | None:
    """The article's campaign price. Visma's API (ArticleApi: NetPrice, GrossPrice,
    PurchasePrice) and so our client give none; this is the one place to read it once they do."""
    return None


def _sync(job: SyncJob, entity: str) -> None:
    integration = job.integration
    plugins = Pipeline.for_integration(integration)
    only = only_keys(job)
    since = None if only else read_cursor(job, integration.erp, entity)
    articles: list[Article] = []
    for erp_article in client_for(integration.erp).articles(changed_since=since):
        if (only and erp_article.number not in only) or is_service_article(job, erp_article.number):
            continue
        article = from_erp(erp_article, plugins)
        if article is None:
            record(job, entity, erp_article.number, Outcome.SKIPPED, _("Left out by a plugin."))
            continue
        price = plugins.price(article.number, erp_article.unit_price)
        articles.append(replace(article, price=price))
    shops = list(integration.shops.filter(enabled=True))
    services.job_progress(job, total=job.progress_done + len(articles) * len(shops))
    later: set[str] = set()
    for connection in shops:
        try:
            writer = price_writer(job, connection, entity)
        except Unsupported as exc:
            record(job, "shop", connection.name, Outcome.FAILED, str(exc))
            later.update(a.key for a in articles)
            continue
        for start in range(0, len(articles), CHUNK):
            later |= writer.write(articles[start : start + CHUNK])
            services.job_progress(job)
        connection.record_success()
    if not only:
        save_cursor(job, integration.erp, entity, articles, later)
    integration.erp.record_success()


@dataclass(frozen=True)
class Sent:
    """What became of one article in one shop."""

    outcome: str
    message: str
    remote_id: str = ""
    look_again: bool = False  # keep the cursor before it (failed, or not in the shop yet)


def price_writer(job: SyncJob, connection: Connection, entity: str) -> PriceWriter:
    client = client_for(connection)
    if connection.platform == Connection.Platform.JETSHOP:
        cls = JetshopPrices if entity == ENTITY_PRICE else JetshopPriceLists
        return cls(job, connection, client, entity)
    if connection.platform in (Connection.Platform.WOOCOMMERCE, Connection.Platform.SHOPIFY):
        cls2 = VariantPrices if entity == ENTITY_PRICE else NoPriceLists
        return cls2(job, connection, client, entity)
    raise Unsupported(
        _("%(platform)s: prices are not supported yet.")
        % {"platform": connection.get_platform_display()}
    )


class PriceWriter:
    """Sets the prices of a chunk of articles in one shop; returns the keys to look at again."""

    def __init__(self, job: SyncJob, connection: Connection, client: Any, entity: str) -> None:
        self.job = job
        self.connection = connection
        self.client = client
        self.entity = entity

    def values(self, article: Article) -> dict[str, Any]:
        """What is set for the article: fingerprinted. ValueError names a problem."""
        raise NotImplementedError

    def send(self, items: list[tuple[Article, dict[str, Any]]]) -> dict[str, Sent]:
        raise NotImplementedError

    def write(self, articles: list[Article]) -> set[str]:
        job, erp = self.job, self.job.integration.erp
        todo: list[tuple[Article, dict[str, Any], str]] = []
        later: set[str] = set()
        for article in articles:
            try:
                values = self.values(article)
            except ValueError as exc:
                record(job, self.entity, article.key, Outcome.FAILED, str(exc))
                later.add(article.key)
                continue
            fp = digest(values)
            link = link_for(job, self.entity, erp, article.key, self.connection)
            if unchanged(link, fp):
                skip_unchanged(job, self.entity, article.key, link)  # type: ignore[arg-type]
                continue
            todo.append((article, values, fp))
        if not todo:
            return later
        try:
            results = self.send([(a, v) for a, v, _fp in todo])
        except AuthExpired:
            raise
        except ApiError as exc:
            failed = Sent(Outcome.FAILED, exc.message, look_again=True)
            results = {a.number: failed for a, _v, _fp in todo}
        for article, _values, fp in todo:
            sent = results.get(article.number) or Sent(
                Outcome.FAILED, _("The shop did not answer."), look_again=True
            )
            if sent.look_again:
                later.add(article.key)
            if sent.outcome == Outcome.TRANSFERRED:
                link, _created = Link.objects.get_or_create(
                    integration=job.integration,
                    entity=self.entity,
                    source_connection=erp,
                    source_id=article.key,
                    target_connection=self.connection,
                    defaults={"natural_key": article.number, "state": Link.State.PENDING},
                )
                link.mark_done(sent.remote_id, fingerprint=fp)
            record(
                job, self.entity, article.key, sent.outcome, sent.message, remote_id=sent.remote_id
            )
        return later


class JetshopPrices(PriceWriter):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.price_list = standard_price_list(self.client, self.job.integration.options)

    def values(self, article: Article) -> dict[str, Any]:
        return {"lists": {self.price_list: article.price}}

    def send(self, items: list[tuple[Article, dict[str, Any]]]) -> dict[str, Sent]:
        prices = [
            NewShopPrice(part_no=a.number, price_list_code=code, price=price)
            for a, values in items
            for code, price in values["lists"].items()
        ]
        imported = run_import(self.client, lambda: self.client.import_prices(prices))
        results = {}
        for article, values in items:
            problem = import_failure(imported, article.number)
            lists = ", ".join(values["lists"])
            results[article.number] = (
                Sent(Outcome.FAILED, problem, look_again=True)
                if problem
                else Sent(Outcome.TRANSFERRED, self.message(article, lists), article.number)
            )
        return results

    def message(self, article: Article, lists: str) -> str:
        return _("%(price)s excl. VAT in %(lists)s.") % {"price": article.price, "lists": lists}


class JetshopPriceLists(JetshopPrices):
    def __init__(self, *args: Any) -> None:
        PriceWriter.__init__(self, *args)
        wanted = self.job.integration.options.get("price_lists")
        lists = self.client.price_lists()
        if wanted:
            lists = [p for p in lists if p.code in wanted]
        self.ordinary = [p.code for p in lists if not p.is_campaign]
        self.campaigns = [p.code for p in lists if p.is_campaign]
        if not self.ordinary:
            raise Unsupported(_("The shop has no price list to set the ordinary price in."))

    def values(self, article: Article) -> dict[str, Any]:
        return {"lists": {code: article.price for code in self.ordinary}}

    def message(self, article: Article, lists: str) -> str:
        text = super().message(article, lists)
        if self.campaigns:
            text += " " + _(
                "Campaign price list(s) %(lists)s left as they are: Visma eEkonomi's API gives "
                "no campaign price."
            ) % {"lists": ", ".join(self.campaigns)}
        return text


class VariantPrices(PriceWriter):
    """Shopify and WooCommerce: the price of the variant with the SKU, as the shop shows prices."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.includes_tax = bool(retrying(self.client.prices_include_tax))

    def values(self, article: Article) -> dict[str, Any]:
        assert article.price is not None
        if not self.includes_tax:
            return {"price": article.price, "incl_vat": False}
        if article.vat_rate is None:
            raise ValueError(
                _("The shop shows prices incl. VAT, and Visma gives no VAT rate for this article.")
            )
        return {"price": gross(article.price, article.vat_rate), "incl_vat": True}

    def send(self, items: list[tuple[Article, dict[str, Any]]]) -> dict[str, Sent]:
        numbers = [a.number for a, _v in items]
        found = retrying(lambda: self.client.variants_by_sku(numbers))
        results: dict[str, Sent] = {}
        changes = []
        for article, values in items:
            variant = found.get(article.number)
            if variant is None:
                results[article.number] = Sent(
                    Outcome.SKIPPED,
                    _("Not in %(shop)s.") % {"shop": self.connection.name},
                    look_again=True,
                )
                continue
            changes.append(
                ShopPriceChange(variant.product_id, variant.variant_id, values["price"], None)
            )
            vat = _("incl. VAT") if values["incl_vat"] else _("excl. VAT")
            results[article.number] = Sent(
                Outcome.TRANSFERRED, f"{values['price']} {vat}", variant.variant_id
            )
        answer = retrying(lambda: self.client.set_prices(changes)) if changes else None
        for error in getattr(answer, "errors", None) or []:
            number = next((n for n, s in results.items() if s.remote_id == error.key), error.key)
            results[number] = Sent(Outcome.FAILED, error.message, look_again=True)
        return results


class NoPriceLists(PriceWriter):
    """Shopify and WooCommerce have no price lists: each item says so, nothing is sent."""

    def write(self, articles: list[Article]) -> set[str]:
        message = _(
            "%(platform)s has no price lists: the ordinary price goes with the prices job, and "
            "Visma gives no campaign price to make a sale price of."
        ) % {"platform": self.connection.get_platform_display()}
        for article in articles:
            record(self.job, self.entity, article.key, Outcome.SKIPPED, message)
        return set()
