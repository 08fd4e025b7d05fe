"""Prices and price lists, Visma → shop (flows 2 and 3; price lists need package 400).

Visma eEkonomi keeps one ordinary price per article and, in its Pro variant, sales price lists
(integrator/flows/price_sources.py says which ones the integration uses and how they are named):
- **prices** sets the ordinary price where each shop keeps it: Jetshop/Norce the ordinary
  (open-ended) price list, or the one named by the integration option `price_list`; Shopify and
  WooCommerce the variant's price (incl. VAT when the shop's prices include tax). With a
  `campaign_price_list`, an article on that Visma list gets its campaign price too: in every
  Jetshop campaign list (a list with an end date; its dates decide when shoppers see it), with
  the ordinary price as "was" price, and an article not (or no longer) on it gets the ordinary
  price there, which ends an earlier campaign price; Shopify shows the campaign price with the
  ordinary price as compareAtPrice, WooCommerce as an open-ended sale price with the ordinary
  price as regular price. Without a campaign, setting the price ends such a sale: the ERP is the
  master.
- **price lists** sets the ordinary price in every open-ended Jetshop price list (or those named
  by the option `price_lists`), the prices of a Visma list in the shop list the option
  `price_list_mapping` maps it to, and the campaign price in the campaign lists as above.
  Campaign lists are left as they are, and each item says why, when no campaign price list is
  configured or Visma cannot give one (a company that is not Pro). Shopify and WooCommerce have
  no price lists (their campaign price goes with the prices job): each item says so.

Visma does not move an article's ChangedUtc when one of its list prices changes, and a price
taken off a list leaves no trace, so with list prices configured every run reads all articles;
without, it reads those changed since the last run. The plugins' `article_number()` maps the
number and `price()` changes each price (a markup) before anything is compared or sent. Only
changed prices are sent: each link keeps a fingerprint of what was last set in that shop. Setting
a price is idempotent, so a retry may simply send it again; there is nothing to create and
nothing to search for first.
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
from integrator.flows.price_sources import ListPrices, read_list_prices
from integrator.models import Link, SyncItem, SyncJob
from integrator.plugins import Pipeline
from shops.clients.errors import ApiError, AuthExpired
from shops.clients.registry import client_for
from shops.clients.types import NewShopPrice, ShopPriceChange
from shops.models import Connection

Outcome = SyncItem.Outcome
CHUNK = 100
# Where a shop price list's price comes from.
ORDINARY, CAMPAIGN, MAPPED = "ordinary", "campaign", "mapped"
PRICE_LISTS_KEY = "Visma price lists"  # the job's item that says why list prices did not go


def sync_prices(job: SyncJob) -> None:
    _sync(job, ENTITY_PRICE)


def sync_price_lists(job: SyncJob) -> None:
    _sync(job, ENTITY_PRICE_LIST)


@dataclass(frozen=True)
class Sources:
    """What the writers price from besides each article's ordinary price."""

    lists: ListPrices
    ids: dict[str, str]  # article key (the Visma number) -> Visma article id
    plugins: Pipeline

    def campaign(self, article: Article) -> Decimal | None:
        article_id = self.ids.get(article.key, "")
        return self.lists.campaign_price(article_id, self.plugins, article.number)

    def mapped(self, code: str, article: Article) -> Decimal | None:
        article_id = self.ids.get(article.key, "")
        return self.lists.mapped_price(code, article_id, self.plugins, article.number)


def _sync(job: SyncJob, entity: str) -> None:
    integration = job.integration
    plugins = Pipeline.for_integration(integration)
    erp = client_for(integration.erp)
    lists = read_list_prices(erp, integration.options, with_mapping=entity == ENTITY_PRICE_LIST)
    if lists.problem:
        record(job, entity, PRICE_LISTS_KEY, Outcome.FAILED, lists.problem)
    only = only_keys(job)
    # A list price's change moves no article's ChangedUtc: with list prices, read them all.
    since = None if only or lists.configured else read_cursor(job, integration.erp, entity)
    articles: list[Article] = []
    ids: dict[str, str] = {}
    for erp_article in erp.articles(changed_since=since):
        if (only and erp_article.number not in only) or is_service_article(job, erp_article.number):
            continue
        article = from_erp(erp_article, plugins)
        if article is None:
            record(job, entity, erp_article.number, Outcome.SKIPPED, _("Left out by a plugin."))
            continue
        price = plugins.price(article.number, erp_article.unit_price)
        articles.append(replace(article, price=price))
        ids[erp_article.number] = erp_article.id
    sources = Sources(lists, ids, plugins)
    shops = list(integration.shops.filter(enabled=True))
    services.job_progress(job, total=job.progress_done + len(articles) * len(shops))
    later: set[str] = set()
    for connection in shops:
        try:
            writer = price_writer(job, connection, entity, sources)
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


def price_writer(
    job: SyncJob, connection: Connection, entity: str, sources: Sources
) -> PriceWriter:
    client = client_for(connection)
    if connection.platform == Connection.Platform.JETSHOP:
        cls = JetshopPrices if entity == ENTITY_PRICE else JetshopPriceLists
        return cls(job, connection, client, entity, sources)
    if connection.platform in (Connection.Platform.WOOCOMMERCE, Connection.Platform.SHOPIFY):
        cls2 = VariantPrices if entity == ENTITY_PRICE else NoPriceLists
        return cls2(job, connection, client, entity, sources)
    raise Unsupported(
        _("%(platform)s: prices are not supported yet.")
        % {"platform": connection.get_platform_display()}
    )


class PriceWriter:
    """Sets the prices of a chunk of articles in one shop; returns the keys to look at again."""

    def __init__(
        self, job: SyncJob, connection: Connection, client: Any, entity: str, sources: Sources
    ) -> None:
        self.job = job
        self.connection = connection
        self.client = client
        self.entity = entity
        self.sources = sources

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
    """The ordinary price in the standard list; with a campaign price list configured, the
    campaign (or, off the campaign, the ordinary) price in every campaign list."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        options = self.job.integration.options
        self.plan = {standard_price_list(self.client, options): ORDINARY}
        self.campaign_lists: set[str] = set()
        self.left: list[str] = []  # campaign lists nothing is set in, and why
        self.why_left = ""
        lists = self.sources.lists
        if lists.campaign_list:
            campaigns = [p.code for p in self.client.price_lists() if p.is_campaign]
            if lists.problem:
                self.left, self.why_left = campaigns, lists.problem
            else:
                self.plan.update(dict.fromkeys(campaigns, CAMPAIGN))
                self.campaign_lists.update(campaigns)

    def values(self, article: Article) -> dict[str, Any]:
        values: dict[str, Any] = {"lists": {}}
        for code, source in self.plan.items():
            price, was = self.price_in(code, source, article)
            if code in self.campaign_lists:
                # Campaign lists get the pair, so an ended campaign clears its "was" price;
                # ordinary lists keep the fingerprints they had before campaigns existed.
                values.setdefault("campaigns", {})[code] = [price, was]
            else:
                values["lists"][code] = price
        return values

    def price_in(self, code: str, source: str, article: Article) -> tuple[Decimal, Decimal | None]:
        """(price, "was" price or None) of the article in the shop list `code`."""
        assert article.price is not None
        special = (
            self.sources.campaign(article)
            if source == CAMPAIGN
            else self.sources.mapped(code, article)
            if source == MAPPED
            else None
        )
        if special is None:
            # Not on the Visma list: the ordinary price, as Visma itself would price it (in a
            # campaign list this ends an earlier campaign price).
            return article.price, None
        if code not in self.campaign_lists:
            return special, None
        return special, article.price if special < article.price else None

    def send(self, items: list[tuple[Article, dict[str, Any]]]) -> dict[str, Sent]:
        prices = [
            NewShopPrice(part_no=a.number, price_list_code=code, price=price)
            for a, values in items
            for code, price in values["lists"].items()
        ] + [
            NewShopPrice(part_no=a.number, price_list_code=code, price=price, catalog_price=was)
            for a, values in items
            for code, (price, was) in values.get("campaigns", {}).items()
        ]
        imported = run_import(self.client, lambda: self.client.import_prices(prices))
        results = {}
        for article, values in items:
            problem = import_failure(imported, article.number)
            results[article.number] = (
                Sent(Outcome.FAILED, problem, look_again=True)
                if problem
                else Sent(Outcome.TRANSFERRED, self.message(values), article.number)
            )
        return results

    def message(self, values: dict[str, Any]) -> str:
        parts = []
        by_price: dict[Decimal, list[str]] = {}
        for code, price in values["lists"].items():
            by_price.setdefault(price, []).append(code)
        for price, codes in by_price.items():
            parts.append(
                _("%(price)s excl. VAT in %(lists)s.") % {"price": price, "lists": ", ".join(codes)}
            )
        for code, (price, was) in values.get("campaigns", {}).items():
            if was is None:
                parts.append(
                    _("%(price)s excl. VAT in %(list)s (no campaign price in Visma).")
                    % {"price": price, "list": code}
                )
            else:
                parts.append(
                    _("Campaign price %(price)s (was %(was)s) excl. VAT in %(list)s.")
                    % {"price": price, "was": was, "list": code}
                )
        if self.left:
            parts.append(
                _("Price list(s) %(lists)s left as they are: %(why)s")
                % {"lists": ", ".join(self.left), "why": self.why_left}
            )
        return " ".join(parts)


class JetshopPriceLists(JetshopPrices):
    """Every (or every named) Jetshop price list: the ordinary price, a mapped Visma list's
    prices, the campaign price."""

    def __init__(self, *args: Any) -> None:
        PriceWriter.__init__(self, *args)
        options = self.job.integration.options
        wanted = options.get("price_lists")
        lists = self.client.price_lists()
        if wanted:
            lists = [p for p in lists if p.code in wanted]
        source = self.sources.lists
        codes = {p.code for p in lists}
        unknown = sorted(set(source.mapping) - codes)
        if unknown:
            record(
                self.job,
                self.entity,
                "price_list_mapping",
                Outcome.FAILED,
                _("%(shop)s has no price list %(codes)s to put Visma's prices in.")
                % {"shop": self.connection.name, "codes": ", ".join(unknown)},
            )
        campaigns_wanted = bool(source.campaign_list) and not source.problem
        self.plan = {}
        self.left = []
        for price_list in lists:
            if price_list.code in source.mapping:
                # A list Visma cannot price now keeps the merchant's prices, not ordinary ones.
                if source.problem:
                    self.left.append(price_list.code)
                else:
                    self.plan[price_list.code] = MAPPED
            elif not price_list.is_campaign:
                self.plan[price_list.code] = ORDINARY
            elif campaigns_wanted:
                self.plan[price_list.code] = CAMPAIGN
            else:
                self.left.append(price_list.code)
        self.why_left = source.problem or _(
            "no Visma campaign price list is configured (integration option campaign_price_list)."
        )
        self.campaign_lists = {p.code for p in lists if p.is_campaign and p.code in self.plan}
        if not any(p.code for p in lists if not p.is_campaign):
            raise Unsupported(_("The shop has no price list to set the ordinary price in."))
        if not self.plan:
            raise Unsupported(self.why_left)


class VariantPrices(PriceWriter):
    """Shopify and WooCommerce: the price of the variant with the SKU, as the shop shows prices."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.includes_tax = bool(retrying(self.client.prices_include_tax))

    def values(self, article: Article) -> dict[str, Any]:
        assert article.price is not None
        campaign = self.sources.campaign(article)
        values: dict[str, Any] = {"price": self.shown(article, article.price)}
        if campaign is not None and campaign < article.price:
            # The campaign price is what the shopper pays; the ordinary one is shown struck
            # through (Shopify's compareAtPrice, WooCommerce's regular price beside the sale).
            values = {"price": self.shown(article, campaign), "was": values["price"]}
        values["incl_vat"] = self.includes_tax
        return values

    def shown(self, article: Article, net: Decimal) -> Decimal:
        """`net` as the shop shows prices."""
        if not self.includes_tax:
            return net
        if article.vat_rate is None:
            raise ValueError(
                _("The shop shows prices incl. VAT, and Visma gives no VAT rate for this article.")
            )
        return gross(net, article.vat_rate)

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
            was = values.get("was")
            changes.append(
                ShopPriceChange(variant.product_id, variant.variant_id, values["price"], was)
            )
            vat = _("incl. VAT") if values["incl_vat"] else _("excl. VAT")
            message = f"{values['price']} {vat}"
            if was is not None:
                message = _("Campaign price %(price)s (was %(was)s)") % {
                    "price": message,
                    "was": was,
                }
            results[article.number] = Sent(Outcome.TRANSFERRED, message, variant.variant_id)
        answer = retrying(lambda: self.client.set_prices(changes)) if changes else None
        for error in getattr(answer, "errors", None) or []:
            number = next((n for n, s in results.items() if s.remote_id == error.key), error.key)
            results[number] = Sent(Outcome.FAILED, error.message, look_again=True)
        return results


class NoPriceLists(PriceWriter):
    """Shopify and WooCommerce have no price lists: each item says so, nothing is sent."""

    def write(self, articles: list[Article]) -> set[str]:
        message = _(
            "%(platform)s has no price lists: the ordinary price, and the campaign price of the "
            "Visma list named by campaign_price_list, go with the prices job."
        ) % {"platform": self.connection.get_platform_display()}
        for article in articles:
            record(self.job, self.entity, article.key, Outcome.SKIPPED, message)
        return set()
