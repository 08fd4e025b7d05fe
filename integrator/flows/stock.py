"""Stock, ERP → shop (package 200 and up, flows 2 and 3).

What the shop should sell is Visma's *available* quantity (on hand minus what Visma's own orders
reserve). Each article's last pushed quantity is kept as a fingerprint on its stock Link, so a
run pushes only the articles whose quantity changed in Visma since (`options["full"]` pushes all,
e.g. after products were added to the shop).

A sale in the shop between our read of its stock and our write must survive. Every platform is
written as "change the shop by what Visma moved", computed from a fresh read of the shop:
- Shopify: compare-and-set on the quantity we read. StaleStock means a sale (or return) came in
  between: read again and apply the same change to the new quantity, so the sale is kept.
- WooCommerce: the client sends `inventory_delta` = wanted - read, which WooCommerce applies to
  whatever the stock is by then: a sale made meanwhile is kept.
- Jetshop (Norce): the import sets OnHand outright, and Norce sells OnHand minus its own
  reservations (orders not yet delivered). We import Visma's available plus the reservations we
  read, so the shop sells what Visma has free; an order placed between our read and the import
  only adds a reservation, so it still counts against what the shop sells.

The link is marked pending before the write and done (with the new fingerprint) after. A retry
after a crash or a lost answer re-reads the shop and finds nothing left to change, so writing
twice never moves stock twice.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from django.utils.translation import gettext as _

from integrator import rules, services
from integrator.flows.fingerprint import fingerprint
from integrator.flows.retries import TRANSIENT_ERRORS, back_off
from integrator.models import Integration, Link, SyncItem, SyncJob
from integrator.plugins import Pipeline
from shops.clients.errors import (
    ApiError,
    AuthExpired,
    OutcomeUnknown,
)
from shops.clients.registry import client_for
from shops.clients.shopify import StaleStock
from shops.clients.types import NewShopStock, ShopStockChange, ShopVariant
from shops.models import Connection

ENTITY_STOCK = "stock"
OBJECT_TYPE = "stock"
BATCH = 50
ATTEMPTS = 4
JETSHOP_IMPORT_TIMEOUT = 60.0


@dataclass(frozen=True)
class Wanted:
    """One article's stock as the shop should have it."""

    erp_number: str
    sku: str  # as the shop knows it (after the plugins' article_number mapping)
    quantity: int

    @property
    def fingerprint(self) -> str:
        return stock_fingerprint(self.quantity)


def stock_fingerprint(quantity: int) -> str:
    return fingerprint({"available": quantity})


def push_stock(job: SyncJob) -> None:
    integration = job.integration
    erp = client_for(integration.erp)
    wanted = _wanted(integration, erp)
    only = {str(key) for key in job.options.get("only", [])}
    if only:
        wanted = [w for w in wanted if w.sku in only]
    for shop_connection in integration.shops.filter(enabled=True):
        pusher = PUSHERS.get(shop_connection.platform)
        if pusher is None:
            for item in wanted:
                _item(job, item, SyncItem.Outcome.FAILED, _("This shop platform has no stock."))
            continue
        changed = _changed(job, shop_connection, wanted)
        # Unchanged articles are counted, not listed: thousands of rows per run say nothing.
        job.skipped += len(wanted) - len(changed)
        services.job_progress(job, total=len(changed))
        shop = client_for(shop_connection)
        for batch in _chunks(changed, BATCH):
            pusher(job, shop_connection, shop, batch)
            services.job_progress(job)
        shop_connection.record_success()
    integration.erp.record_success()


def _wanted(integration: Integration, erp: Any) -> list[Wanted]:
    plugins = Pipeline.for_integration(integration)
    wanted: dict[str, Wanted] = {}
    for article in erp.articles():
        available = article.stock_available
        if available is None:
            available = article.stock_balance
        if available is None or not article.is_active:
            continue  # not a stock article, or no longer sold
        sku = plugins.article_number(article.number)
        if not sku:
            continue  # a plugin leaves it out of the shop
        # The shop counts whole items; never sell a part item, never show a negative stock.
        quantity = max(0, int(Decimal(available).to_integral_value(rounding=ROUND_FLOOR)))
        wanted[sku] = Wanted(article.number, sku, quantity)
    return list(wanted.values())


def _changed(job: SyncJob, shop_connection: Connection, wanted: list[Wanted]) -> list[Wanted]:
    if job.options.get("full"):
        return wanted
    done = dict(
        Link.objects.filter(
            integration=job.integration,
            entity=ENTITY_STOCK,
            source_connection=job.integration.erp,
            target_connection=shop_connection,
            state=Link.State.DONE,
        ).values_list("source_id", "fingerprint")
    )
    return [w for w in wanted if done.get(w.erp_number) != w.fingerprint]


def _chunks(items: list[Wanted], size: int) -> Iterator[list[Wanted]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- links and outcomes ---------------------------------------------------------------------------


def _intend(job: SyncJob, shop_connection: Connection, batch: list[Wanted]) -> None:
    """The local intent, committed before the shop is written to."""
    for item in batch:
        Link.objects.update_or_create(
            integration=job.integration,
            entity=ENTITY_STOCK,
            source_connection=job.integration.erp,
            source_id=item.erp_number,
            target_connection=shop_connection,
            defaults={"natural_key": item.sku, "state": Link.State.PENDING},
        )


def _done(job: SyncJob, shop_connection: Connection, item: Wanted, target_id: str) -> None:
    Link.objects.filter(
        integration=job.integration,
        entity=ENTITY_STOCK,
        source_connection=job.integration.erp,
        source_id=item.erp_number,
        target_connection=shop_connection,
    ).update(state=Link.State.DONE, fingerprint=item.fingerprint, target_id=target_id)


def _item(
    job: SyncJob, item: Wanted, outcome: str, message: str, detail: Any = None, remote_id: str = ""
) -> None:
    services.item_record(
        job,
        object_type=OBJECT_TYPE,
        key=item.sku,
        outcome=outcome,
        message=message,
        remote_id=remote_id,
        detail=detail,
    )


def _not_in_shop(job: SyncJob, shop_connection: Connection, item: Wanted, why: str) -> None:
    # Remembered as done, so the article is not looked for again until its stock changes (or a
    # full run): an ERP with many articles the shop does not sell would otherwise cost reads
    # and rows on every run.
    _done(job, shop_connection, item, "")
    _item(job, item, SyncItem.Outcome.SKIPPED, why)


def _pushed(
    job: SyncJob, shop_connection: Connection, item: Wanted, before: int, after: int, target: str
) -> None:
    _done(job, shop_connection, item, target)
    _item(
        job,
        item,
        SyncItem.Outcome.TRANSFERRED,
        _("Stock %(before)d → %(after)d") % {"before": before, "after": after},
        remote_id=target,
    )


def _failed(job: SyncJob, batch: list[Wanted], exc: ApiError) -> None:
    # The links stay pending: the next run re-reads the shop and computes the change again.
    for item in batch:
        _item(job, item, SyncItem.Outcome.FAILED, exc.message, exc.exchange)


def _with_retries(job: SyncJob, batch: list[Wanted], write: Any) -> bool:
    """Run `write(attempt)` with back-off on transient trouble. False when the batch failed
    (recorded); a remote that stays down stops the job."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            write(attempt)
        except AuthExpired:
            raise
        except TRANSIENT_ERRORS as exc:
            if attempt == ATTEMPTS:
                if isinstance(exc, OutcomeUnknown):
                    _failed(job, batch, exc)
                    return False
                raise
            back_off(exc, attempt)
            continue
        except ApiError as exc:
            _failed(job, batch, exc)
            return False
        return True
    return False


# --- Shopify: compare-and-set ---------------------------------------------------------------------


def _shopify_location(integration: Integration, shop_connection: Connection, variant: ShopVariant):
    """The location Visma's stock goes to: `options["stock_locations"][<shop id>]`, else the
    variant's first location (Shopify lists the shop's primary location first)."""
    configured = (integration.options.get("stock_locations") or {}).get(str(shop_connection.pk))
    for level in variant.stock:
        if not configured or level.location_id == configured:
            return level
    return None


@dataclass(frozen=True)
class Planned:
    item: Wanted
    before: int
    after: int
    inventory_item_id: str
    change: ShopStockChange | None  # None: the shop already has it


def _push_shopify(job: SyncJob, shop_connection: Connection, shop: Any, batch: list[Wanted]):
    _intend(job, shop_connection, batch)
    # How much each article should move, from the first read. Kept across StaleStock rounds, so
    # a sale that lands between our read and our write is subtracted, not overwritten.
    moves: dict[str, int] = {}
    plan: dict[str, Planned] = {}

    def write(attempt: int) -> None:
        if attempt > 1:
            # A transient error (a lost answer above all) may hide a write that landed: only a
            # fresh read can say what is still to move.
            moves.clear()
        for stale_round in range(1, ATTEMPTS + 1):
            plan.clear()
            plan.update(_plan_shopify(job, shop_connection, shop, batch, moves))
            changes = [p.change for p in plan.values() if p.change is not None]
            try:
                shop.set_stock(changes, reference=f"stock-sync://job/{job.pk}")
                return
            except StaleStock:
                if stale_round == ATTEMPTS:
                    raise  # sales keep coming in: the next run tries again

    if not _with_retries(job, batch, write):
        return
    for item in batch:
        planned = plan.get(item.sku)
        if planned is None:
            _not_in_shop(job, shop_connection, item, _("Not in the shop, or not stocked there."))
        else:
            _pushed(
                job, shop_connection, item, planned.before, planned.after, planned.inventory_item_id
            )


def _plan_shopify(
    job: SyncJob,
    shop_connection: Connection,
    shop: Any,
    batch: list[Wanted],
    moves: dict[str, int],
) -> dict[str, Planned]:
    variants = shop.variants_by_sku([w.sku for w in batch])
    plan = {}
    for item in batch:
        variant = variants.get(item.sku)
        level = _shopify_location(job.integration, shop_connection, variant) if variant else None
        if variant is None or level is None:
            continue
        move = moves.setdefault(item.sku, item.quantity - level.available)
        after = max(0, level.available + move)
        change = None
        if after != level.available:
            change = ShopStockChange(
                variant.inventory_item_id, level.location_id, after, expected=level.available
            )
        plan[item.sku] = Planned(item, level.available, after, variant.inventory_item_id, change)
    return plan


# --- WooCommerce: deltas --------------------------------------------------------------------------


def _push_woocommerce(job: SyncJob, shop_connection: Connection, shop: Any, batch: list[Wanted]):
    _intend(job, shop_connection, batch)
    result: dict[str, tuple[int, int, str]] = {}

    def write(attempt: int) -> None:
        # Every attempt reads afresh: the delta is always wanted - what the shop has now.
        variants = shop.variants_by_sku([w.sku for w in batch])
        changes, result_now = [], {}
        for item in batch:
            variant = variants.get(item.sku)
            if variant is None or not variant.stock:
                continue
            before = variant.stock[0].available
            result_now[item.sku] = (before, item.quantity, variant.inventory_item_id)
            changes.append(
                ShopStockChange(variant.inventory_item_id, "", item.quantity, expected=before)
            )
        after = shop.set_stock(changes, reference=f"stock-sync-{job.pk}")
        result.clear()
        for sku, (before, wanted, inventory) in result_now.items():
            result[sku] = (before, after.get(inventory, wanted), inventory)

    if not _with_retries(job, batch, write):
        return
    for item in batch:
        if item.sku not in result:
            _not_in_shop(
                job, shop_connection, item, _("Not in the shop, or its stock not managed.")
            )
            continue
        before, after, inventory = result[item.sku]
        _pushed(job, shop_connection, item, before, after, inventory)


# --- Jetshop (Norce): the on-hand import ----------------------------------------------------------


class JetshopImportFailed(ApiError):
    """Norce finished the import without applying it (or not within the time we wait): the
    links stay pending and the next run imports the absolute quantities again."""


def _push_jetshop(job: SyncJob, shop_connection: Connection, shop: Any, batch: list[Wanted]):
    _intend(job, shop_connection, batch)
    warehouse = (job.integration.options.get("stock_warehouses") or {}).get(str(shop_connection.pk))
    result: dict[str, tuple[int, int]] = {}

    def write(attempt: int) -> None:
        rows = shop.stock([w.sku for w in batch])
        levels, result_now = [], {}
        for item in batch:
            row = next(
                (
                    r
                    for r in rows
                    if r.part_no == item.sku and warehouse in (None, r.warehouse_code)
                ),
                None,
            )
            if row is None:
                continue
            reserved = int(row.reserved)
            levels.append(
                NewShopStock(
                    part_no=item.sku,
                    warehouse_code=row.warehouse_code,
                    location_code=row.location_code,
                    on_hand=Decimal(item.quantity + reserved),
                )
            )
            result_now[item.sku] = (int(row.available), item.quantity)
        result.clear()
        if not levels:
            return
        accepted = shop.import_stock(levels)
        finished = shop.wait_for_job(accepted.job_id, timeout=JETSHOP_IMPORT_TIMEOUT)
        if not finished.finished or not finished.succeeded or finished.failed_items:
            problem = "; ".join(finished.messages) or finished.status
            raise JetshopImportFailed(
                _("Norce did not import the stock (%(problem)s).") % {"problem": problem}
            )
        result.update(result_now)

    if not _with_retries(job, batch, write):
        return
    for item in batch:
        if item.sku not in result:
            _not_in_shop(job, shop_connection, item, _("Not in the shop's stock (warehouse)."))
            continue
        before, after = result[item.sku]
        _pushed(job, shop_connection, item, before, after, item.sku)


PUSHERS = {
    Connection.Platform.SHOPIFY: _push_shopify,
    Connection.Platform.WOOCOMMERCE: _push_woocommerce,
    Connection.Platform.JETSHOP: _push_jetshop,
}


def enqueue_stock_syncs() -> int:
    """Scheduled (migration 0005): a stock push for every integration whose flow and package
    include it. One already queued or running is left alone."""
    count = 0
    integrations = Integration.objects.filter(
        enabled=True, erp__enabled=True, shops__platform__in=list(PUSHERS)
    ).distinct()
    for integration in integrations:
        if rules.why_not(integration, SyncJob.Kind.STOCK):
            continue
        _job, created = services.job_enqueue(
            integration=integration, kind=SyncJob.Kind.STOCK, trigger=SyncJob.Trigger.SCHEDULE
        )
        count += created
    return count
