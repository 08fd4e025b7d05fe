"""The initial product sync, run once at start-up: either direction, matched on article number.

`job.options`: "direction" ("shop_to_erp" or "erp_to_shop") and "dry_run" (true/false).

A dry run only reads. It lists, as items, what the real run would do with each article: "would
create" and "matches" (skipped), and the conflicts it cannot decide for the merchant (failed):
products without an article number, article numbers that appear more than once on either side
(also when they differ only in case or spaces, which people read as the same number), and new
products whose VAT rate is unknown (a Shopify product type nobody mapped, a WooCommerce tax class
without a rate for Sweden).

The real run knows its total up front, creates what is missing with the products flow's writers
(so exactly once, as there), links what matches, leaves conflicts alone, and records the time it
took on the customer's service account: the initial sync is drawn from the start package.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from billing import service_account
from billing.models import TimeEntry
from integrator import rules, services
from integrator.flows import FlowNotAvailable
from integrator.flows.catalogue import (
    ENTITY_PRODUCT,
    Article,
    Unsupported,
    from_erp,
    intend,
    is_service_article,
    only_keys,
    paced,
    record,
    shop_articles,
)
from integrator.flows.products import ErpWriter
from integrator.flows.shop_products import CHUNK, shop_writer
from integrator.models import SyncItem, SyncJob
from integrator.plugins import Pipeline
from shops.clients.registry import client_for
from shops.models import Connection

Outcome = SyncItem.Outcome
CREATE, MATCH, CONFLICT = "create", "match", "conflict"
QUARTER_HOUR_SECONDS = 15 * 60
AUTOMATIC_REASON = "initial product sync, automatic"
# Who an automatic time entry is by when nobody started the job (the command line, a schedule):
# TimeEntry.staff is required. An inactive account that cannot log in.
SYSTEM_USERNAME = "integrator"


@dataclass(frozen=True)
class Step:
    article: Article
    verdict: str  # CREATE, MATCH or CONFLICT
    message: str
    target_id: str = ""  # for a match: the id on the other side


def initial_products(job: SyncJob) -> None:
    direction = job.options.get("direction")
    if direction not in (rules.SHOP_TO_ERP, rules.ERP_TO_SHOP):
        raise FlowNotAvailable(
            _('Choose the direction of the initial product sync: "%(a)s" or "%(b)s".')
            % {"a": rules.SHOP_TO_ERP, "b": rules.ERP_TO_SHOP}
        )
    dry_run = bool(job.options.get("dry_run"))
    integration = job.integration
    plugins = Pipeline.for_integration(integration)
    erp = client_for(integration.erp)
    erp_side = [
        a
        for a in (from_erp(e, plugins) for e in erp.articles())
        if a is not None and not is_service_article(job, a.key)
    ]
    plans: list[tuple[Connection, Any, list[Step]]] = []
    for connection in integration.shops.filter(enabled=True):
        client = client_for(connection)
        try:
            if direction == rules.SHOP_TO_ERP:
                source = shop_articles(connection, client, plugins, integration.options)
                steps = plan(source, {a.number: a.key for a in erp_side}, _("Visma"))
            else:
                steps = plan(erp_side, _shop_numbers(connection, client, erp_side), connection.name)
        except Unsupported as exc:
            record(job, "shop", connection.name, Outcome.FAILED, str(exc))
            continue
        only = only_keys(job)
        plans.append((connection, client, [s for s in steps if not only or s.article.key in only]))
    services.job_progress(job, total=job.progress_done + sum(len(p[2]) for p in plans))
    for connection, _client, steps in plans:
        if dry_run:
            _list(job, steps)
        elif direction == rules.SHOP_TO_ERP:
            _run_to_erp(job, connection, erp, steps)
        else:
            _run_to_shop(job, connection, steps)
    if not dry_run:
        record_time(job, plans)


def _shop_numbers(connection: Connection, client: Any, erp_side: list[Article]) -> dict[str, str]:
    """Article number → the shop's id for it, for what the shop has. Jetshop lists its products;
    Shopify and WooCommerce are asked for the ERP's numbers (one search instead of the whole
    catalogue)."""
    if connection.platform == Connection.Platform.JETSHOP:
        return {p.part_no: p.product_id for p in client.products()}
    if not hasattr(client, "variants_by_sku"):
        raise Unsupported(
            _("%(platform)s: products cannot be read.")
            % {"platform": connection.get_platform_display()}
        )
    found = client.variants_by_sku([a.number for a in erp_side])
    return {sku: v.variant_id for sku, v in found.items()}


def _norm(number: str) -> str:
    return "".join(number.split()).casefold()


def plan(source: list[Article], target: dict[str, str], target_name: str) -> list[Step]:
    """What to do with each source article, given the target's article numbers (→ its ids)."""
    source_counts = Counter(_norm(a.number) for a in source if a.number)
    target_counts = Counter(_norm(n) for n in target)
    target_by_norm = {_norm(n): n for n in target}
    steps = []
    for article in source:
        key = _norm(article.number)
        if not key:
            message = _("Has no article number: it cannot be matched.")
        elif source_counts[key] > 1:
            message = _("Article number %(n)s appears %(times)d times on this side.") % {
                "n": article.number,
                "times": source_counts[key],
            }
        elif target_counts[key] > 1:
            message = _("Article number %(n)s appears %(times)d times in %(target)s.") % {
                "n": article.number,
                "times": target_counts[key],
                "target": target_name,
            }
        elif key in target_by_norm and target_by_norm[key] != article.number:
            message = _(
                "%(n)s matches %(other)s in %(target)s only if case and spaces are ignored."
            ) % {
                "n": article.number,
                "other": target_by_norm[key],
                "target": target_name,
            }
        elif article.number in target:
            steps.append(Step(article, MATCH, _("matches"), target_id=target[article.number]))
            continue
        elif article.vat_rate is None:
            # It would fail in the real run: say so now, with the reason.
            message = article.vat_problem or _("Has no VAT rate, and we never guess one.")
        else:
            steps.append(Step(article, CREATE, _("would create in %(t)s") % {"t": target_name}))
            continue
        steps.append(Step(article, CONFLICT, message))
    return steps


def _list(job: SyncJob, steps: list[Step]) -> None:
    for step in paced(job, steps):
        outcome = Outcome.FAILED if step.verdict == CONFLICT else Outcome.SKIPPED
        record(
            job, ENTITY_PRODUCT, step.article.key, outcome, step.message, remote_id=step.target_id
        )


def _link_match(job: SyncJob, step: Step, source: Connection, target: Connection) -> None:
    # No fingerprint: the first products sync after this one brings the master's values over.
    link = intend(job, ENTITY_PRODUCT, source, step.article.key, target, step.article.number)
    link.mark_done(step.target_id, fingerprint="")
    record(
        job,
        ENTITY_PRODUCT,
        step.article.key,
        Outcome.SKIPPED,
        _("matches; linked"),
        remote_id=step.target_id,
    )


def _run_to_erp(job: SyncJob, connection: Connection, erp: Any, steps: list[Step]) -> None:
    writer = ErpWriter(job, erp)
    for step in paced(job, steps):
        if step.verdict == CREATE:
            writer.write(connection, step.article, label=_("created in Visma"))
        elif step.verdict == MATCH:
            _link_match(job, step, connection, job.integration.erp)
        else:
            record(job, ENTITY_PRODUCT, step.article.key, Outcome.FAILED, step.message)


def _run_to_shop(job: SyncJob, connection: Connection, steps: list[Step]) -> None:
    erp = job.integration.erp
    for step in paced(job, [s for s in steps if s.verdict != CREATE]):
        if step.verdict == MATCH:
            _link_match(job, step, erp, connection)
        else:
            record(job, ENTITY_PRODUCT, step.article.key, Outcome.FAILED, step.message)
    creates = [s.article for s in steps if s.verdict == CREATE]
    if not creates:
        return
    writer = shop_writer(job, connection)
    label = _("created in %(shop)s") % {"shop": connection.name}
    for start in range(0, len(creates), CHUNK):
        writer.write(creates[start : start + CHUNK], label=label)
        services.job_progress(job)


# --- the time it took, on the service account ----------------------------------------------------


def hours_for(seconds: float) -> Decimal:
    """Rounded up to the quarter hour, at least one quarter: what a time entry accepts."""
    quarters = max(1, math.ceil(seconds / QUARTER_HOUR_SECONDS))
    return Decimal(quarters) * Decimal("0.25")


def _system_user() -> Any:
    user, created = get_user_model().objects.get_or_create(
        username=SYSTEM_USERNAME, defaults={"is_active": False, "first_name": "Integrator"}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def record_time(job: SyncJob, plans: list[tuple[Connection, Any, list[Step]]]) -> TimeEntry:
    """One time entry per real run (a resumed job does not add a second). Never fails the sync:
    an entry that takes the account below zero is kept, with the reason that it was automatic."""
    customer = job.integration.customer
    prefix = _("Initial product sync, job #%(id)d") % {"id": job.pk}
    with transaction.atomic():
        existing = TimeEntry.objects.filter(
            customer=customer,
            category=TimeEntry.Category.INITIAL_SYNC,
            description__startswith=prefix + " ",
        ).first()
        if existing:
            return existing
        started = job.started_at or timezone.now()
        hours = hours_for((timezone.now() - started).total_seconds())
        counts = Counter(step.verdict for _c, _cl, steps in plans for step in steps)
        description = _(
            "%(prefix)s (%(direction)s): %(create)d to create, %(match)d matched, "
            "%(conflict)d conflicts"
        ) % {
            "prefix": prefix,
            "direction": rules.DIRECTION_LABELS[job.options["direction"]],
            "create": counts[CREATE],
            "match": counts[MATCH],
            "conflict": counts[CONFLICT],
        }
        below_zero = service_account.balance_after(customer, debit=hours) < 0
        return TimeEntry.objects.create(
            customer=customer,
            date=timezone.localdate(),
            hours=hours,
            category=TimeEntry.Category.INITIAL_SYNC,
            description=description[:300],
            staff=job.started_by or _system_user(),
            below_zero_reason=AUTOMATIC_REASON if below_zero else "",
        )
