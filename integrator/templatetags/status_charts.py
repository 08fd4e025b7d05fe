"""Small server-rendered SVG charts for the status page: no script, no external file. Each has a
<title> and <desc> for screen readers, and the page prints the same numbers as text."""

from __future__ import annotations

import datetime
from decimal import Decimal
from itertools import accumulate

from django import template
from django.utils.formats import date_format, number_format
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from billing.models import last_of_month
from billing.quota import QuotaUsage
from integrator.status_money import CurrencyMonths

register = template.Library()

WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 36, 8, 12, 22
COLOURS = {"bar": "#9cc3e6", "line": "#1f5f99", "quota": "#b3261e", "grid": "#d0d7de"}


def _svg(label_id: str, title: str, desc: str, body: list[str]) -> SafeString:
    return mark_safe(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}" '
        f'role="img" aria-labelledby="{label_id}-title {label_id}-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{label_id}-title">{escape(title)}</title>'
        f'<desc id="{label_id}-desc">{escape(desc)}</desc>' + "".join(body) + "</svg>"
    )


def _y(value: float, top: float) -> float:
    plot = HEIGHT - TOP - BOTTOM
    return round(TOP + plot - (value / top) * plot, 1) if top else HEIGHT - BOTTOM


def _axis(top: float) -> list[str]:
    base = HEIGHT - BOTTOM
    parts = [
        f'<line x1="{LEFT}" y1="{base}" x2="{WIDTH - RIGHT}" y2="{base}" '
        f'stroke="{COLOURS["grid"]}"/>',
        f'<text x="{LEFT - 4}" y="{base}" font-size="9" text-anchor="end">0</text>',
    ]
    if top:
        parts.append(
            f'<text x="{LEFT - 4}" y="{TOP + 4}" font-size="9" text-anchor="end">'
            f"{escape(number_format(round(top), 0, force_grouping=True))}</text>"
        )
    return parts


def quota_svg(usage: QuotaUsage, *, label_id: str = "quota-chart") -> SafeString:
    """Orders transferred this month: a bar per day, the running total as a line, and the
    package quota as a dashed line."""
    days_in_month = last_of_month(usage.month).day
    daily = [n for _day, n in usage.per_day]
    running = list(accumulate(daily))
    top = max([usage.quota or 0, usage.used, 1]) * 1.1
    step = (WIDTH - LEFT - RIGHT) / days_in_month
    body = _axis(top)
    for i, n in enumerate(daily):
        if n:
            x, y = LEFT + i * step + 1, _y(n, top)
            body.append(
                f'<rect x="{x:.1f}" y="{y}" width="{max(step - 2, 1):.1f}" '
                f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{COLOURS["bar"]}"/>'
            )
    if running:
        points = " ".join(
            f"{LEFT + (i + 0.5) * step:.1f},{_y(total, top)}" for i, total in enumerate(running)
        )
        body.append(
            f'<polyline points="{points}" fill="none" stroke="{COLOURS["line"]}" stroke-width="2"/>'
        )
    if usage.quota:
        quota_label = _("Quota %(n)s") % {"n": usage.quota}
        y = _y(usage.quota, top)
        body.append(
            f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}" '
            f'stroke="{COLOURS["quota"]}" stroke-dasharray="4 3"/>'
        )
        body.append(
            f'<text x="{WIDTH - RIGHT}" y="{y - 3}" font-size="9" text-anchor="end" '
            f'fill="{COLOURS["quota"]}">'
            f"{escape(quota_label)}</text>"
        )
    for day in (1, 15, days_in_month):
        x = LEFT + (day - 0.5) * step
        body.append(
            f'<text x="{x:.1f}" y="{HEIGHT - 8}" font-size="9" text-anchor="middle">{day}</text>'
        )
    return _svg(label_id, quota_title(usage), quota_text(usage), body)


def quota_title(usage: QuotaUsage) -> str:
    return _("Orders in %(month)s against the package quota") % {
        "month": date_format(usage.month, "F Y")
    }


def quota_text(usage: QuotaUsage) -> str:
    if usage.quota:
        text = _("%(used)s of %(quota)s orders used (%(percent)s %%).") % {
            "used": usage.used,
            "quota": usage.quota,
            "percent": usage.percent,
        }
        if usage.overage:
            text += " " + _("%(n)s orders over the quota.") % {"n": usage.overage}
        return text
    return _("%(used)s orders transferred; the package has no fixed quota.") % {"used": usage.used}


def _money(value: Decimal) -> str:
    return number_format(value, 2, force_grouping=True)


def payout_svg(totals: CurrencyMonths, *, label_id: str = "") -> SafeString:
    """Net paid out per month in one currency, one bar per month."""
    label_id = label_id or f"payout-chart-{totals.currency.lower()}"
    months = totals.months
    top = float(max([m.net for m in months] + [Decimal(1)])) * 1.1
    step = (WIDTH - LEFT - RIGHT) / max(len(months), 1)
    body = _axis(top)
    for i, month in enumerate(months):
        x = LEFT + i * step
        if month.net > 0:
            y = _y(float(month.net), top)
            body.append(
                f'<rect x="{x + 2:.1f}" y="{y}" width="{max(step - 4, 1):.1f}" '
                f'height="{HEIGHT - BOTTOM - y:.1f}" fill="{COLOURS["line"]}"/>'
            )
        body.append(
            f'<text x="{x + step / 2:.1f}" y="{HEIGHT - 8}" font-size="9" '
            f'text-anchor="middle">{escape(date_format(month.month, "M"))}</text>'
        )
    currency = totals.currency
    title = _("Paid out per month (%(currency)s)") % {"currency": currency}
    desc = "; ".join(f"{date_format(m.month, 'F Y')}: {_money(m.net)} {currency}" for m in months)
    return _svg(label_id, title, desc, body)


@register.simple_tag
def quota_chart(usage: QuotaUsage) -> SafeString:
    return quota_svg(usage)


@register.simple_tag
def payout_chart(totals: CurrencyMonths) -> SafeString:
    return payout_svg(totals)


@register.filter
def quota_summary(usage: QuotaUsage) -> str:
    return quota_text(usage)


@register.filter
def signed_hours(value: Decimal) -> str:
    """+2,00 / −1,50: credits and debits of the service account."""
    sign = "+" if value >= 0 else "−"
    return f"{sign}{number_format(abs(value), 2)}"


@register.filter
def stockholm_day(value: datetime.date) -> str:
    return date_format(value, "D j M")
