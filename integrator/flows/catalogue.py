"""What the catalogue flows (products, prices, price lists, the initial product sync) share: one
shape for an article whichever side it came from, reading each side, links with fingerprints,
cursors, retries of transient trouble and the shops' asynchronous imports."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, TypeVar

from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from integrator import services
from integrator.flows.fingerprint import fingerprint
from integrator.flows.retries import TRANSIENT_ERRORS, back_off
from integrator.flows.shop_vat import vat_rule
from integrator.models import Cursor, Link, SyncItem, SyncJob
from integrator.plugins import Pipeline
from shops.clients.types import ErpArticle, ShopImportJob, ShopListedItem
from shops.models import Connection

ENTITY_PRODUCT = "product"
ENTITY_PRICE = "price"
ENTITY_PRICE_LIST = "price_list"
DEFAULT_SHIPPING_ARTICLE = "FRAKT"  # as in flows.orders: a Visma article, never a shop product
# Trouble that says nothing about the item: worth another try after a pause (as for orders).
ITEM_ATTEMPTS = 4
PAGE = 50  # items between progress updates (heartbeat, cancel check)
IMPORT_TIMEOUT = 120.0  # seconds to wait for a shop's asynchronous import
TWO = Decimal("0.01")

T = TypeVar("T")


class Unsupported(Exception):
    """What a platform's client cannot do (yet); the message says so for support staff."""


@dataclass(frozen=True)
class Article:
    """One article as the catalogue flows move it. `key` is the article number on the source
    side (the SyncItem key and the Link source_id); `number` is how the target knows it, after
    the plugins' article_number()."""

    key: str
    number: str
    name: str
    vat_rate: Decimal | None  # None: the source does not say, and we never guess one
    active: bool = True
    price: Decimal | None = None  # ordinary price excl. VAT, when the source has one
    changed_at: datetime.datetime | None = None
    vat_problem: str = ""  # why vat_rate is None, when the source's set-up says why

    def values(self) -> dict[str, Any]:
        """What a product sync writes: the fingerprinted values."""
        return {
            "number": self.number,
            "name": self.name,
            "vat_rate": self.vat_rate,
            "active": self.active,
        }


# --- reading each side ---------------------------------------------------------------------------


def from_erp(article: ErpArticle, plugins: Pipeline) -> Article | None:
    number = plugins.article_number(article.number)
    if number is None:
        return None
    return Article(
        key=article.number,
        number=number,
        name=article.name,
        vat_rate=article.vat_rate,
        active=article.is_active,
        price=article.unit_price,
        changed_at=article.changed_at,
    )


def is_service_article(job: SyncJob, number: str) -> bool:
    """The shipping and fee articles exist only for invoice rows; shops do not sell them."""
    options = job.integration.options
    return number in {options.get("shipping_article", DEFAULT_SHIPPING_ARTICLE)} | (
        {options["fee_article"]} if options.get("fee_article") else set()
    )


def shop_articles(
    connection: Connection, client: Any, plugins: Pipeline, options: dict[str, Any]
) -> list[Article]:
    """Every product of a shop as an Article, or Unsupported when its client cannot list
    products. Jetshop/Norce gives each product its rate; WooCommerce's rates come from the shop's
    tax classes; Shopify's from the integration's mapping (see shop_vat.py)."""
    if connection.platform == Connection.Platform.JETSHOP:
        return _jetshop_articles(client, plugins, options)
    if not hasattr(client, "listed_items"):
        raise Unsupported(
            _(
                "%(platform)s: reading products with their VAT rates is not supported yet, so "
                "products cannot go from this shop to the accounting system."
            )
            % {"platform": connection.get_platform_display()}
        )
    rate_of = vat_rule(connection.platform, options)
    articles = []
    for item in client.listed_items():
        article = from_listed(item, plugins, *rate_of(item))
        if article is not None:
            articles.append(article)
    return articles


def from_listed(
    item: ShopListedItem, plugins: Pipeline, vat_rate: Decimal | None, vat_problem: str
) -> Article | None:
    """A Shopify or WooCommerce item as an Article, its price brought to excl. VAT. An item
    without a SKU keeps its shop id as the key, so it is listed (and fails) on its own."""
    number = plugins.article_number(item.sku) if item.sku else ""
    if number is None:
        return None
    return Article(
        key=item.sku or item.variant_id,
        number=number,
        name=item.name,
        vat_rate=vat_rate,
        active=item.active,
        price=net_price(item.price, vat_rate, item.prices_include_tax),
        changed_at=item.updated_at,
        vat_problem=vat_problem,
    )


def net_price(price: Decimal | None, vat_rate: Decimal | None, incl_vat: bool) -> Decimal | None:
    if price is None or not incl_vat:
        return price
    if vat_rate is None:
        return None  # what is VAT in it is unknown: such an article is not written anyway
    return (price * 100 / (100 + vat_rate)).quantize(TWO, ROUND_HALF_UP)


def _jetshop_articles(client: Any, plugins: Pipeline, options: dict[str, Any]) -> list[Article]:
    try:
        standard = standard_price_list(client, options)
    except Unsupported:
        standard = ""  # only a starting price for new articles: none is fine
    prices = {
        p.part_no: p.price for p in client.prices() if standard and p.price_list_code == standard
    }
    articles = []
    for product in client.products():
        number = plugins.article_number(product.part_no) if product.part_no else ""
        if number is None:
            continue
        articles.append(
            Article(
                key=product.part_no,
                number=number,
                name=product.name,
                vat_rate=product.vat_rate,
                active=product.active,
                price=prices.get(product.part_no),
                changed_at=product.updated_at,
            )
        )
    return articles


def standard_price_list(client: Any, options: dict[str, Any]) -> str:
    """The Jetshop price list that carries the ordinary price: the integration's option
    `price_list`, else the first list that does not end (a campaign list has an end date)."""
    configured = options.get("price_list")
    if configured:
        return str(configured)
    lists = [p for p in client.price_lists() if not p.is_campaign]
    if not lists:
        raise Unsupported(_("The shop has no ordinary (open-ended) price list."))
    return lists[0].code


def only_keys(job: SyncJob) -> set[str]:
    """The item keys a retry of a partly failed job is limited to (empty: everything)."""
    return {str(k) for k in job.options.get("only", [])}


# --- links, fingerprints, outcomes ---------------------------------------------------------------


def link_for(
    job: SyncJob, entity: str, source: Connection, source_id: str, target: Connection
) -> Link | None:
    return Link.objects.filter(
        integration=job.integration,
        entity=entity,
        source_connection=source,
        source_id=source_id,
        target_connection=target,
    ).first()


def unchanged(link: Link | None, digest: str) -> bool:
    return link is not None and link.state == Link.State.DONE and link.fingerprint == digest


def intend(
    job: SyncJob, entity: str, source: Connection, source_id: str, target: Connection, key: str
) -> Link:
    """The local intent, committed before the remote write: a link in state pending. A link
    that exists already is returned as it is (its target id is what a retry searches by)."""
    link, _created = Link.objects.get_or_create(
        integration=job.integration,
        entity=entity,
        source_connection=source,
        source_id=source_id,
        target_connection=target,
        defaults={"natural_key": key, "state": Link.State.PENDING},
    )
    return link


def record(
    job: SyncJob,
    object_type: str,
    key: str,
    outcome: str,
    message: str = "",
    *,
    remote_id: str = "",
    detail: dict[str, Any] | None = None,
) -> None:
    services.item_record(
        job,
        object_type=object_type,
        key=key,
        outcome=outcome,
        message=message,
        remote_id=remote_id,
        detail=detail,
    )


def skip_unchanged(job: SyncJob, object_type: str, key: str, link: Link) -> None:
    record(
        job,
        object_type,
        key,
        SyncItem.Outcome.SKIPPED,
        _("unchanged"),
        remote_id=link.target_id,
    )


def paced(job: SyncJob, items: Iterable[T]) -> Iterator[T]:
    """The items, with a progress update (heartbeat, cancel check) every PAGE of them."""
    for position, item in enumerate(items, start=1):
        yield item
        if position % PAGE == 0:
            services.job_progress(job)
    services.job_progress(job)


# --- transient trouble ---------------------------------------------------------------------------


def retrying(call: Callable[[], T]) -> T:
    """`call` again after a pause while the trouble is transient. Only for writes that are safe
    to repeat (upserts by the natural key, prices); creates search first instead."""
    for attempt in range(1, ITEM_ATTEMPTS + 1):
        try:
            return call()
        except TRANSIENT_ERRORS as exc:
            if attempt == ITEM_ATTEMPTS:
                raise
            back_off(exc, attempt)
    raise AssertionError("unreachable")


# --- cursors -------------------------------------------------------------------------------------


def read_cursor(job: SyncJob, connection: Connection, entity: str) -> datetime.datetime | None:
    cursor = Cursor.objects.filter(
        integration=job.integration, connection=connection, entity=entity
    ).first()
    return parse_datetime(cursor.value) if cursor and cursor.value else None


def save_cursor(
    job: SyncJob, connection: Connection, entity: str, seen: list[Article], failed: set[str]
) -> None:
    """Move the cursor to the newest change seen, but not past an item that failed: the next run
    reads it again (the unchanged ones around it are skipped by their fingerprint)."""
    times = [a.changed_at for a in seen if a.changed_at]
    failed_times = [a.changed_at for a in seen if a.changed_at and a.key in failed]
    if failed_times:
        times = [t for t in times if t < min(failed_times)]
    if not times:
        return
    Cursor.objects.update_or_create(
        integration=job.integration,
        connection=connection,
        entity=entity,
        defaults={"value": max(times).isoformat()},
    )


# --- shops' asynchronous imports (Jetshop / Norce) -----------------------------------------------


def run_import(client: Any, start: Callable[[], ShopImportJob]) -> ShopImportJob:
    """Start an import (safe to repeat: Norce imports are upserts by PartNo) and wait for it.
    The messages of the accepted job (per-item validation failures) are kept on the answer."""
    accepted = retrying(start)
    finished = client.wait_for_job(accepted.job_id, timeout=IMPORT_TIMEOUT)
    return ShopImportJob(
        job_id=finished.job_id,
        status=finished.status,
        finished=finished.finished,
        succeeded=finished.succeeded,
        total_items=finished.total_items,
        failed_items=finished.failed_items,
        messages=accepted.messages + finished.messages,
    )


def import_failure(job: ShopImportJob, part_no: str) -> str:
    """Why the import did not take this item ("" when it did). Norce names the PartNo at the
    start of each validation message; a job that did not finish or failed as a whole fails all."""
    for message in job.messages:
        if message.split(":", 1)[0].strip() == part_no:
            return message
    if not job.finished:
        return _("The shop's import %(id)s has not finished yet; the next run sends it again.") % {
            "id": job.job_id
        }
    if job.status == "Failed":
        return _("The shop's import %(id)s failed as a whole.") % {"id": job.job_id}
    return ""


# --- prices as a shop shows them -----------------------------------------------------------------


def gross(net: Decimal, vat_rate: Decimal) -> Decimal:
    return (net * (100 + vat_rate) / 100).quantize(TWO, ROUND_HALF_UP)


def digest(values: dict[str, Any]) -> str:
    return fingerprint(values)
