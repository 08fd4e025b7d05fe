"""What the Visma sandbox serves beyond the 2018 swagger's writes: the sales price lists' prices
(GET /v2/salespricelists/prices[/{listId}[/{articleId}]], Pro only: the Pro check is in
visma.py), the merchant changing a list's prices (test hook), and notes (POST /v2/notes)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from shops.sandbox import demo_data
from shops.sandbox.demo_visma_sales import sales_price_row
from shops.sandbox.state import Response, SandboxState, now_utc
from shops.sandbox.visma_schema import (
    NOTE_DOCUMENT_TYPES,
    NOTE_MAX,
    check_fields,
    not_found,
    validation_error,
)
from shops.sandbox.visma_store import Company


def read_prices(
    rest: list[str], company: Company, page: Callable[[list[dict[str, Any]]], Response]
) -> Response:
    """/v2/salespricelists/prices[/{salesPriceListId}[/{articleId}]]; `page` makes a list page."""
    if not rest:
        return page([row for prices in company.sales_prices.values() for row in prices.values()])
    if company.find("salespricelists", rest[0]) is None:
        return not_found("salespricelists", rest[0])
    prices = company.sales_prices.get(rest[0].lower(), {})
    if len(rest) == 1:
        return page(list(prices.values()))
    found = prices.get(rest[1].lower()) if len(rest) == 2 else None
    return Response(200, found) if found else not_found("salesprices", "/".join(rest))


def merchant_prices(company: Company, body: dict[str, Any]) -> Response:
    """Set or remove articles' prices on a sales price list, as the merchant would in Visma."""
    wanted = str(body.get("list") or "")
    found = next((p for p in company.data["salespricelists"] if p["Name"] == wanted), None)
    if found is None:
        return Response(404, {"error": f"No sales price list {wanted!r}"})
    prices = company.sales_prices.setdefault(found["Id"].lower(), {})
    changed = []
    for given in body.get("prices") or []:
        article = next(iter(company.data["articles"].lookup("Number", str(given["Number"]))))
        if given.get("NetPrice") is None:
            prices.pop(article["Id"].lower(), None)
            continue
        coding = company.find("articleaccountcodings", article["CodingId"]) or {}
        row = sales_price_row(
            found["Id"],
            article["Id"],
            Decimal(str(given["NetPrice"])),
            Decimal(str(coding.get("VatRatePercent", 25))),
            changed=now_utc(),
        )
        prices[article["Id"].lower()] = row
        changed.append(row)
    return Response(200, {"prices": changed})


# --- notes ---------------------------------------------------------------------------------------

# The documents a note can be attached to that the sandbox keeps, by NoteApi.DocumentType.
NOTE_DOCUMENTS = {1: "customerinvoices", 2: "customerinvoicedrafts", 6: "orders", 11: "articles"}


def create_note(body: Any, company: Company, state: SandboxState) -> Response:
    if not isinstance(body, dict):
        return validation_error([("note", "The request body is required.")])
    problems = check_fields(body, (), NOTE_MAX)
    kind = body.get("DocumentType", 0)
    if kind not in NOTE_DOCUMENT_TYPES:
        problems.append(("DocumentType", "DocumentType must be between 0 and 16."))
    attached = str(body.get("AttachedTo") or "")
    collection = NOTE_DOCUMENTS.get(kind) if isinstance(kind, int) else None
    if attached and collection and company.find(collection, attached) is None:
        problems.append(("AttachedTo", f"AttachedTo {attached} is not a document of that type."))
    if problems:
        return validation_error(problems)
    note = company.data["notes"].add(
        {
            **{k: body.get(k) for k in ("AttachedTo", "DocumentType", "Subject", "Text")},
            "Id": state.new_id(),
            "UserId": demo_data.stable_id("visma", company.key, "user", "api"),
            "CreatedUtc": now_utc(),
            "ModifiedUtc": now_utc(),
            "IsDone": False,
        }
    )
    company.create_calls["notes"][attached or note["Id"]] += 1
    return Response(201, note)
