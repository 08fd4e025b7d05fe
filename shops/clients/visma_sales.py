"""Visma eEkonomi resources newer than the 2018 swagger, or outside what the order flow writes:
sales price lists (Pro only), cost centres and notes. VismaClient inherits this mixin.

- **Sales price lists** (developer.vismaonline.com changelog 2023-09-13, 2024-05-08,
  2026-04-27): `GET /v2/salespricelists` (SalesPriceListApi), `GET /v2/salespricelists/prices/
  {salesPriceListId}` (every article priced on one list, SalesPriceListRowApi) and `…/{articleId}`
  (one article). Visma documents them "available in the Pro variant" only and says nothing of
  what other variants get back, so the client asks first: CompanySettings.ProductVariant (5 =
  Pro) decides, and a 403/404 from the endpoints is read the same way. Lists have no validity
  dates in Visma: a campaign's dates are the shop's.
- **Cost centres** (`GET /v2/costcenters`, CostCenterApi with its Items): an item's id goes on
  invoice and order rows as CostCenterItemId1/2/3, by the cost centre's Number.
- **Notes** (`/v2/notes`, NoteApi: AttachedTo = a document id, DocumentType 1 = customer invoice,
  6 = order). The swagger documents no $filter for notes (and Visma enables filters property by
  property), so the notes of a document are found by reading the list, page by page, and keeping
  those attached to it; `notes_by_document()` reads it once for many documents.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from shops.clients.errors import ApiError, AuthExpired, NotFound
from shops.clients.types import (
    ErpCostCentre,
    ErpCostCentreItem,
    ErpNote,
    ErpSalesPrice,
    ErpSalesPriceList,
)
from shops.clients.visma_bodies import parse_time

PRO_VARIANT = 5
VARIANTS = {
    1: "Standard/Smart",
    2: "Invoicing",
    3: "Bookkeeping",
    4: "Start/Solo",
    5: "Pro",
    6: "InvoicingCollaboration",
}
NOTE_ORDER, NOTE_CUSTOMER_INVOICE = 6, 1
NOTES_PAGE_SIZE = 100  # twice the usual page: one read serves a whole job


class PriceListsUnavailable(ApiError):
    """The merchant's Visma company has no sales price lists (they come with Pro). Not an
    AuthExpired: ordinary prices still flow, and each item says why its price list did not."""


class VismaSalesResources:
    """Price lists, cost centres and notes; mixed into VismaClient (which gives iter_all and
    request)."""

    iter_all: Any
    request: Any
    company_settings: Any

    # --- sales price lists (Pro) ---------------------------------------------------------------

    def _require_pro(self) -> None:
        variant = int(self.company_settings().get("ProductVariant") or 0)
        if variant != PRO_VARIANT:
            name = VARIANTS.get(variant, str(variant or "unknown"))
            raise PriceListsUnavailable(
                f"The merchant's Visma eEkonomi company is {name}: sales price lists (and so "
                "campaign prices) need Visma eEkonomi Pro. Upgrade the company in Visma, or "
                "remove the price list settings from the integration."
            )

    def _price_list_call(self, read: Any) -> Any:
        try:
            return read()
        except (AuthExpired, NotFound) as exc:
            status = (exc.exchange or {}).get("status")
            if isinstance(exc, NotFound) or status == 403:
                raise PriceListsUnavailable(
                    "Visma eEkonomi refuses the sales price lists: they need the Pro variant. "
                    f"({exc.message})",
                    exchange=exc.exchange,
                ) from exc
            raise

    def sales_price_lists(self) -> list[ErpSalesPriceList]:
        """The company's sales price lists; PriceListsUnavailable when it is not Pro."""
        self._require_pro()
        rows = self._price_list_call(lambda: list(self.iter_all("/v2/salespricelists")))
        return [to_price_list(r) for r in rows]

    def sales_prices(self, price_list_id: str) -> list[ErpSalesPrice]:
        """Every article priced on the list (one paged read, not one request per article)."""
        path = f"/v2/salespricelists/prices/{price_list_id}"
        rows = self._price_list_call(lambda: list(self.iter_all(path)))
        return [to_sales_price(r, price_list_id) for r in rows]

    def sales_price(self, price_list_id: str, article_id: str) -> ErpSalesPrice | None:
        path = f"/v2/salespricelists/prices/{price_list_id}/{article_id}"
        try:
            row = self.request("GET", path)
        except NotFound:
            return None
        return to_sales_price(row, price_list_id) if row else None

    # --- cost centres --------------------------------------------------------------------------

    def cost_centres(self) -> list[ErpCostCentre]:
        return [to_cost_centre(c) for c in self.iter_all("/v2/costcenters")]

    # --- notes ---------------------------------------------------------------------------------

    def notes_by_document(self, document_ids: Iterable[str]) -> dict[str, list[ErpNote]]:
        """The notes attached to each of `document_ids` (lower-case ids), oldest first."""
        wanted = {d.lower() for d in document_ids if d}
        found: dict[str, list[ErpNote]] = {d: [] for d in wanted}
        if not wanted:
            return found
        for row in self.iter_all("/v2/notes", "", NOTES_PAGE_SIZE):
            attached = str(row.get("AttachedTo") or "").lower()
            if attached in wanted:
                found[attached].append(to_note(row))
        for notes in found.values():
            notes.sort(key=lambda n: (n.created_at is None, n.created_at))
        return found

    def create_note(self, document_id: str, document_type: int, subject: str, text: str) -> ErpNote:
        body = {
            "AttachedTo": document_id,
            "DocumentType": document_type,
            "Subject": subject[:40],
            "Text": text[:256],
        }
        return to_note(self.request("POST", "/v2/notes", json_body=body))


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value if value is not None else 0)).quantize(Decimal("0.01"))


def to_price_list(data: dict) -> ErpSalesPriceList:
    return ErpSalesPriceList(
        id=str(data["Id"]),
        number=int(data.get("Number") or 0),
        name=str(data.get("Name") or ""),
        currency=str(data.get("CurrencyCode") or ""),
        is_standard=bool(data.get("IsStandard")),
        is_active=bool(data.get("IsActive", True)),
        note=str(data.get("Note") or ""),
        changed_at=parse_time(data.get("ChangedUtc")),
    )


def to_sales_price(data: dict, price_list_id: str = "") -> ErpSalesPrice:
    gross = data.get("GrossPrice")
    return ErpSalesPrice(
        price_list_id=str(data.get("SalesPriceListId") or price_list_id),
        article_id=str(data.get("ArticleId") or ""),
        net_price=_decimal(data.get("NetPrice")),
        gross_price=None if gross is None else _decimal(gross),
        currency=str(data.get("CurrencyCode") or ""),
        changed_at=parse_time(data.get("ChangedUtc")),
    )


def to_cost_centre(data: dict) -> ErpCostCentre:
    return ErpCostCentre(
        id=str(data["Id"]),
        number=int(data.get("Number") or 0),
        name=str(data.get("Name") or ""),
        is_active=bool(data.get("IsActive", True)),
        items=tuple(
            ErpCostCentreItem(
                id=str(item["Id"]),
                cost_centre_id=str(item.get("CostCenterId") or data["Id"]),
                name=str(item.get("Name") or ""),
                short_name=str(item.get("ShortName") or ""),
                is_active=bool(item.get("IsActive", True)),
            )
            for item in data.get("Items") or []
        ),
    )


def to_note(data: dict) -> ErpNote:
    return ErpNote(
        id=str(data["Id"]),
        attached_to=str(data.get("AttachedTo") or ""),
        document_type=int(data.get("DocumentType") or 0),
        subject=str(data.get("Subject") or ""),
        text=str(data.get("Text") or ""),
        created_at=parse_time(data.get("CreatedUtc")),
        modified_at=parse_time(data.get("ModifiedUtc")),
    )
