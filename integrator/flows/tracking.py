"""Parcel tracking for the order status flow, from the notes on the Visma order or invoice.

Visma eEkonomi has no tracking field. Support staff or the warehouse write the parcel number in
a note on the order (or the invoice), e.g. subject "Spårning", text "00370712345678901234"; the
carrier is the order's delivery method ("PostNord MyPack Collect"), or a carrier the note names.

`integration.options["tracking"]` may change the defaults:
    {"pattern": "<regex with a group named number>",   # how the number is found in a note
     "urls": {"PostNord": "https://…{number}"},         # tracking page per carrier (merged)
     "wait_minutes": 60}                                 # see order_status: waiting for a note

The default pattern wants a keyword — spårning(snummer), tracking (number), kolli(nummer),
sändning(snummer), track & trace — then, at most four words on, a number shaped like the
Swedish carriers' parcel numbers: UPU (RR123456789SE), DHL's JJD…, or 8–30 digits with at most
four letters in front (PostNord's and DHL's 18–20 digit SSCCs, Bring's 17 digits, DB Schenker's
10-digit waybills). A number with no keyword before it is not taken: phone and order numbers
look the same.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

from shops.clients.types import ErpNote

DEFAULT_PATTERN = (
    r"(?i)(?:spårning\w*|tracking(?:\s*(?:number|no|nr))?|kolli\w*|sändning\w*|"
    r"track\s*(?:&|and)\s*trace)[^\w\n]{0,3}(?:\w+[^\w\n]{1,3}){0,4}?"
    r"(?P<number>[A-Z]{2}\d{9}[A-Z]{2}|JJD\d{10,24}|[A-Z]{0,4}\d{8,30})\b"
)
# Carrier names as shoppers know them, found in a delivery method's name or a note.
CARRIERS = {
    "PostNord": ("postnord", "posten", "mypack"),
    "DHL": ("dhl",),
    "Bring": ("bring",),
    "DB Schenker": ("schenker",),
    "Budbee": ("budbee",),
    "Instabox": ("instabox",),
    "UPS": ("ups",),
}
TRACKING_URLS = {
    "PostNord": "https://tracking.postnord.com/se/?id={number}",
    "DHL": "https://www.dhl.com/se-sv/home/tracking.html?tracking-id={number}",
    "Bring": "https://tracking.bring.se/tracking/{number}",
    "DB Schenker": "https://www.dbschenker.com/app/tracking-public/?refNumber={number}",
    "Budbee": "https://tracking.budbee.com/{number}",
    "Instabox": "https://track.instabox.io/{number}",
    "UPS": "https://www.ups.com/track?loc=sv_SE&tracknum={number}",
}
DEFAULT_WAIT_MINUTES = 60
SETTING_NAMES = {"pattern", "urls", "wait_minutes"}


@dataclass(frozen=True)
class Tracking:
    number: str
    carrier: str  # "" when neither the delivery method nor the note names one
    url: str  # "" when the carrier has no known tracking page


class TrackingSettingInvalid(ValueError):
    """The integration's tracking option cannot be used; the message says why."""


def settings(options: dict[str, Any]) -> dict[str, Any]:
    raw = (options or {}).get("tracking") or {}
    if not isinstance(raw, dict):
        raise TrackingSettingInvalid(_("The tracking option must be an object."))
    try:
        pattern = re.compile(raw.get("pattern") or DEFAULT_PATTERN)
    except (re.error, TypeError) as exc:
        raise TrackingSettingInvalid(
            _("The tracking pattern is not a valid expression: %(error)s") % {"error": exc}
        ) from exc
    return {
        "pattern": pattern,
        "urls": {**TRACKING_URLS, **(raw.get("urls") or {})},
        "wait_minutes": float(raw.get("wait_minutes", DEFAULT_WAIT_MINUTES)),
    }


def check_tracking(raw: Any) -> None:
    """TrackingSettingInvalid saying what is wrong with an integration's tracking option; the
    admin asks this when the integration is saved, so a mistake does not wait for a delivery."""
    if not isinstance(raw, dict):
        raise TrackingSettingInvalid(_("The tracking option must be an object."))
    if set(raw) - SETTING_NAMES:
        raise TrackingSettingInvalid(
            _("unknown setting(s) %(names)s (known: %(known)s).")
            % {
                "names": ", ".join(sorted(set(raw) - SETTING_NAMES)),
                "known": ", ".join(sorted(SETTING_NAMES)),
            }
        )
    if not isinstance(raw.get("urls") or {}, dict):
        raise TrackingSettingInvalid(_("urls must be an object of {carrier: address}."))
    wait = raw.get("wait_minutes", DEFAULT_WAIT_MINUTES)
    if isinstance(wait, bool) or not isinstance(wait, int | float):
        raise TrackingSettingInvalid(_("wait_minutes must be a number of minutes."))
    config = settings({"tracking": raw})
    if "number" not in config["pattern"].groupindex:
        raise TrackingSettingInvalid(
            _("the pattern needs a group named number, e.g. (?P<number>\\d{8,30}).")
        )
    if config["wait_minutes"] < 0:
        raise TrackingSettingInvalid(_("wait_minutes cannot be negative."))
    for carrier, url in config["urls"].items():
        try:
            usable = isinstance(url, str) and "{number}" in url and bool(url.format(number="1"))
        except (KeyError, IndexError, ValueError):
            usable = False
        if not usable:
            raise TrackingSettingInvalid(
                _("the tracking page of %(carrier)s must be an address with {number} in it.")
                % {"carrier": carrier}
            )


def carrier_in(text: str) -> str:
    words = text.casefold()
    for carrier, names in CARRIERS.items():
        if any(re.search(rf"\b{re.escape(name)}\b", words) for name in names):
            return carrier
    return ""


def _carrier_of_number(number: str) -> str:
    if number.startswith("JJD"):
        return "DHL"  # DHL Freight's shipment numbers
    if re.fullmatch(r"[A-Z]{2}\d{9}SE", number):
        return "PostNord"  # a UPU number posted in Sweden
    return ""


def find_tracking(
    notes: list[ErpNote], delivery_method: str, config: dict[str, Any]
) -> Tracking | None:
    """The parcel number in the newest note that has one, its carrier and tracking page."""
    pattern: re.Pattern[str] = config["pattern"]
    for note in reversed(notes):
        text = f"{note.subject}: {note.text}"
        match = pattern.search(text)
        if not match:
            continue
        number = match.groupdict().get("number") or match.group(match.lastindex or 0)
        carrier = carrier_in(delivery_method) or carrier_in(text)
        if not carrier:
            carrier = _carrier_of_number(number.upper())
        template = config["urls"].get(carrier, "")
        return Tracking(number, carrier, template.format(number=number) if template else "")
    return None
