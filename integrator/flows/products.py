"""Products (no variant structure) in the direction the flow says: shop → Visma in flows 1 and 3,
Visma → shop in flow 2. Matched by article number (Visma `Number`, Norce `PartNo`, a SKU).

Only changed items are sent: the link of each item keeps a fingerprint of what was last written,
and an item whose values still have that fingerprint is skipped as "unchanged". Creating follows
the orders' rule: a pending link first, and a search by article number before every create, so
a lost answer or a crash never makes a second article.
"""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from django.utils.translation import gettext as _

from integrator import rules, services
from integrator.flows.catalogue import (
    ENTITY_PRODUCT,
    ITEM_ATTEMPTS,
    TRANSIENT_ERRORS,
    Article,
    Unsupported,
    back_off,
    digest,
    from_erp,
    import_failure,
    intend,
    is_service_article,
    link_for,
    only_keys,
    paced,
    read_cursor,
    record,
    retrying,
    run_import,
    save_cursor,
    shop_articles,
    skip_unchanged,
    unchanged,
)
from integrator.models import Link, SyncItem, SyncJob
from integrator.plugins import Pipeline
from shops.clients.errors import ApiError, AuthExpired
from shops.clients.registry import client_for
from shops.clients.types import ErpArticle, NewErpArticle, NewShopProduct
from shops.models import Connection

Outcome = SyncItem.Outcome
CHUNK = 100  # items per shop import or batch request
# WooCommerce knows tax classes, not rates. Only the standard class is safe to assume for 25 %;
# any other rate needs the integration option `woocommerce_tax_classes`, e.g. {"6": "reduced-rate"}.
DEFAULT_TAX_CLASSES = {"25": ""}


def sync_products(job: SyncJob) -> None:
    plugins = Pipeline.for_integration(job.integration)
    if rules.direction(job.integration, job.kind) == rules.SHOP_TO_ERP:
        _shops_to_erp(job, plugins)
    else:
        _erp_to_shops(job, plugins)


# --- shop → Visma --------------------------------------------------------------------------------


def _shops_to_erp(job: SyncJob, plugins: Pipeline) -> None:
    integration = job.integration
    writer = ErpWriter(job, client_for(integration.erp))
    only = only_keys(job)
    work: list[tuple[Connection, list[Article]]] = []
    for connection in integration.shops.filter(enabled=True):
        try:
            articles = shop_articles(
                connection, client_for(connection), plugins, integration.options
            )
        except Unsupported as exc:
            record(job, "shop", connection.name, Outcome.FAILED, str(exc))
            continue
        # Norce cannot filter products by change time, so the cursor is applied here: the
        # job then lists only what changed, not thousands of "unchanged" items every run.
        since = None if only else read_cursor(job, connection, ENTITY_PRODUCT)
        wanted = [
            a
            for a in articles
            if (a.key in only if only else not since or not a.changed_at or a.changed_at > since)
        ]
        work.append((connection, wanted))
    services.job_progress(job, total=job.progress_done + sum(len(w[1]) for w in work))
    for connection, articles in work:
        failed = {a.key for a in paced(job, articles) if not writer.write(connection, a)}
        if not only:
            save_cursor(job, connection, ENTITY_PRODUCT, articles, failed)
        connection.record_success()
    integration.erp.record_success()


class ErpWriter:
    """Writes articles to Visma, once each, by article number."""

    def __init__(self, job: SyncJob, erp: Any) -> None:
        self.job = job
        self.erp = erp
        self._codings: dict[Decimal, str] = {}
        self._unit_id = ""

    def coding_id(self, rate: Decimal) -> str:
        if rate not in self._codings:
            self._codings[rate] = self.erp.coding_for_vat_rate(rate).id
        return self._codings[rate]

    def unit_id(self) -> str:
        """The unit new articles get: the integration's `article_unit` (a unit code or
        abbreviation), else "st" (styck), else Visma's first unit."""
        if not self._unit_id:
            wanted = str(self.job.integration.options.get("article_unit", "st")).lower()
            units = self.erp.units()
            chosen = next(
                (u for u in units if wanted in (u.code.lower(), u.abbreviation.lower())),
                units[0] if units else None,
            )
            if chosen is None:
                raise Unsupported(_("Visma has no units; an article needs one."))
            self._unit_id = chosen.id
        return self._unit_id

    def problem(self, article: Article) -> str:
        """Why the article cannot be written as it is ("" when it can)."""
        if article.vat_rate is None:
            return _("The shop gives no VAT rate for this product, and we never guess one.")
        try:
            self.coding_id(article.vat_rate)
        except LookupError:
            return _(
                "Visma has no active article account coding for %(rate)s %% VAT: the merchant "
                "must add one, or the product's rate is wrong."
            ) % {"rate": format(article.vat_rate.normalize(), "f")}
        return ""

    def write(self, source: Connection, article: Article, *, label: str = "") -> bool:
        """Create or update one article, or record why not. Transient trouble is retried here
        with back-off; every attempt searches Visma first, so it never doubles. False when the
        item failed."""
        job = self.job
        target = job.integration.erp
        link = link_for(job, ENTITY_PRODUCT, source, article.key, target)
        fp = digest(article.values())
        if unchanged(link, fp):
            skip_unchanged(job, ENTITY_PRODUCT, article.key, link)  # type: ignore[arg-type]
            return True
        problem = self.problem(article)
        if problem:
            record(job, ENTITY_PRODUCT, article.key, Outcome.FAILED, problem)
            return False
        for attempt in range(1, ITEM_ATTEMPTS + 1):
            try:
                link = intend(job, ENTITY_PRODUCT, source, article.key, target, article.number)
                written, verb, wrote = self._write_once(article)
            except AuthExpired:
                raise
            except TRANSIENT_ERRORS as exc:
                if attempt == ITEM_ATTEMPTS:
                    # The link stays pending: the next run searches Visma and finishes it.
                    record(
                        job,
                        ENTITY_PRODUCT,
                        article.key,
                        Outcome.FAILED,
                        exc.message,
                        detail=exc.exchange,
                    )
                    return False
                back_off(exc, attempt)
                continue
            except (ApiError, Unsupported) as exc:
                message = exc.message if isinstance(exc, ApiError) else str(exc)
                detail = exc.exchange if isinstance(exc, ApiError) else None
                record(job, ENTITY_PRODUCT, article.key, Outcome.FAILED, message, detail=detail)
                return False
            link.mark_done(written.id, fingerprint=fp)
            record(
                job,
                ENTITY_PRODUCT,
                article.key,
                Outcome.TRANSFERRED if wrote else Outcome.SKIPPED,
                label or verb,
                remote_id=written.id,
            )
            return True
        return False

    def _write_once(self, article: Article) -> tuple[ErpArticle, str, bool]:
        """The article in Visma, what was done, and whether anything was written."""
        rate = article.vat_rate
        assert rate is not None  # checked by problem()
        coding = self.coding_id(rate)
        existing = self.erp.find_article(article.number)
        if existing is None:
            created = self.erp.create_article(
                NewErpArticle(
                    number=article.number,
                    name=article.name,
                    # A starting price only: in flow 3 the ERP owns prices from here on.
                    unit_price=article.price or Decimal("0"),
                    coding_id=coding,
                    unit_id=self.unit_id(),
                    is_active=article.active,
                )
            )
            return created, _("Article created in Visma."), True
        if (
            existing.name == article.name[:50]
            and existing.coding_id.lower() == coding.lower()
            and existing.is_active == article.active
        ):
            return existing, _("Already as in the shop."), False
        updated = self.erp.update_article(
            existing.id,
            NewErpArticle(
                number=existing.number,
                name=article.name,
                # PUT replaces the article: keep what the shop does not own.
                unit_price=existing.unit_price,
                coding_id=coding,
                unit_id=existing.unit_id or self.unit_id(),
                is_active=article.active,
            ),
        )
        return updated, _("Article updated in Visma."), True


# --- Visma → shop --------------------------------------------------------------------------------


def _erp_to_shops(job: SyncJob, plugins: Pipeline) -> None:
    integration = job.integration
    erp = client_for(integration.erp)
    only = only_keys(job)
    since = None if only else read_cursor(job, integration.erp, ENTITY_PRODUCT)
    articles: list[Article] = []
    for erp_article in erp.articles(changed_since=since):
        if only and erp_article.number not in only:
            continue
        article = from_erp(erp_article, plugins)
        if article is None:
            record(
                job, ENTITY_PRODUCT, erp_article.number, Outcome.SKIPPED, _("Left out by a plugin.")
            )
        elif not is_service_article(job, article.key):
            articles.append(article)
    shops = list(integration.shops.filter(enabled=True))
    services.job_progress(job, total=len(articles) * len(shops))
    failed: set[str] = set()
    for connection in shops:
        try:
            writer = shop_writer(job, connection)
        except Unsupported as exc:
            record(job, "shop", connection.name, Outcome.FAILED, str(exc))
            failed.update(a.key for a in articles)
            continue
        for start in range(0, len(articles), CHUNK):
            failed |= writer.write(articles[start : start + CHUNK])
            services.job_progress(job)  # a heartbeat and a cancel check per chunk
        connection.record_success()
    if not only:
        save_cursor(job, integration.erp, ENTITY_PRODUCT, articles, failed)
    integration.erp.record_success()


def shop_writer(job: SyncJob, connection: Connection) -> ShopProductWriter:
    writers: dict[str, type[ShopProductWriter]] = {
        Connection.Platform.JETSHOP: JetshopProducts,
        Connection.Platform.WOOCOMMERCE: WooCommerceProducts,
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
