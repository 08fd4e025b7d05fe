"""Products (no variant structure) in the direction the flow says: shop → Visma in flows 1 and 3,
Visma → shop in flow 2. Matched by article number (Visma `Number`, Norce `PartNo`, a SKU).

Only changed items are sent: the link of each item keeps a fingerprint of what was last written,
and an item whose values still have that fingerprint is skipped as "unchanged". Creating follows
the orders' rule: a pending link first, and a search by article number before every create, so
a lost answer or a crash never makes a second article.
"""

from __future__ import annotations

from decimal import Decimal
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
    intend,
    is_service_article,
    link_for,
    only_keys,
    paced,
    read_cursor,
    record,
    save_cursor,
    shop_articles,
    skip_unchanged,
    unchanged,
)
from integrator.flows.shop_products import CHUNK, shop_writer
from integrator.models import SyncItem, SyncJob
from integrator.plugins import Pipeline
from shops.clients.errors import ApiError, AuthExpired
from shops.clients.registry import client_for
from shops.clients.types import ErpArticle, NewErpArticle
from shops.models import Connection

Outcome = SyncItem.Outcome


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
        if not article.number:
            return _("The product has no article number (SKU): it cannot be matched in Visma.")
        if article.vat_rate is None:
            return article.vat_problem or _(
                "The shop gives no VAT rate for this product, and we never guess one."
            )
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
