"""Pictures of payout totals over time, as server-rendered SVG (no script, nothing external):
one small chart per currency, most payouts first, one bar per week of net paid out, money in
above the line, money out below it. Amounts in different currencies are never added up."""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncWeek
from django.utils.formats import number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

WEEKS = 26


@dataclass(frozen=True)
class WeeklyTotals:
    currency: str
    payouts: int  # how many payouts in this currency, all weeks
    points: list[tuple[datetime.date, Decimal]]  # net per week, oldest first, the last weeks


def weekly_totals(payouts: QuerySet, weeks: int = WEEKS) -> list[WeeklyTotals]:
    """Net per week of each currency among the payouts (its last `weeks` weeks with payouts),
    the currency with most payouts first; one grouped query whatever the number of currencies."""
    rows = (
        payouts.order_by()
        .annotate(week=TruncWeek("payout_date"))
        .values("currency", "week")
        .annotate(total=Sum("net"), n=Count("pk"))
    )
    per_week: dict[str, list[tuple[datetime.date, Decimal]]] = defaultdict(list)
    counts: dict[str, int] = defaultdict(int)
    for row in rows:
        per_week[row["currency"]].append((_as_date(row["week"]), row["total"] or Decimal(0)))
        counts[row["currency"]] += row["n"]
    order = sorted(counts, key=lambda currency: (-counts[currency], currency))
    return [WeeklyTotals(c, counts[c], sorted(per_week[c])[-weeks:]) for c in order]


def _as_date(value: datetime.date | datetime.datetime) -> datetime.date:
    return value.date() if isinstance(value, datetime.datetime) else value


def svg(
    currency: str,
    points: list[tuple[datetime.date, Decimal]],
    *,
    width: int = 480,
    height: int = 170,
) -> SafeString:
    if not points:
        return mark_safe("")
    left, right, top, bottom = 70, 10, 20, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    high = max(max(v for _d, v in points), Decimal(0))
    low = min(min(v for _d, v in points), Decimal(0))
    span = (high - low) or Decimal(1)

    def y(value: Decimal) -> float:
        return top + float((high - value) / span) * plot_h

    slot = plot_w / len(points)
    bar = max(2.0, slot * 0.7)
    title = _("Net paid out per week (%(currency)s)") % {"currency": currency}
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">',
        f"<title>{escape(title)}</title>",
        f'<text x="{left}" y="13" font-size="12" fill="#444">{escape(title)}</text>',
        f'<line x1="{left}" x2="{width - right}" y1="{y(Decimal(0)):.1f}" y2="{y(Decimal(0)):.1f}" '
        'stroke="#999" stroke-width="1"/>',
        f'<text x="{left - 6}" y="{y(high) + 4:.1f}" font-size="10" text-anchor="end" fill="#666">'
        f"{escape(number_format(high, 0, force_grouping=True))}</text>",
    ]
    if low < 0:
        parts.append(
            f'<text x="{left - 6}" y="{y(low) + 4:.1f}" font-size="10" text-anchor="end" '
            f'fill="#666">{escape(number_format(low, 0, force_grouping=True))}</text>'
        )
    for index, (week, value) in enumerate(points):
        x = left + index * slot + (slot - bar) / 2
        y0, y1 = sorted((y(Decimal(0)), y(value)))
        colour = "#2e7d32" if value >= 0 else "#c62828"
        label = f"{week:%Y-%m-%d}: {number_format(value, 2, force_grouping=True)} {currency}"
        parts.append(
            f'<rect x="{x:.1f}" y="{y0:.1f}" width="{bar:.1f}" height="{max(y1 - y0, 1):.1f}" '
            f'fill="{colour}"><title>{escape(label)}</title></rect>'
        )
    for index in {0, len(points) - 1}:
        week = points[index][0]
        x = left + index * slot + slot / 2
        parts.append(
            f'<text x="{x:.1f}" y="{height - 8}" font-size="10" text-anchor="middle" fill="#666">'
            f"{week:%Y-%m-%d}</text>"
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text in it went through escape()
