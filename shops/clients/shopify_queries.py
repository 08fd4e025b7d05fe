"""The GraphQL documents ShopifyClient sends (Admin API 2025-01), one named operation each.

Every value travels in variables, never spliced into the document, so a SKU or an order name
cannot change the query. The sandbox (shops/sandbox/shopify.py) answers exactly these operations.
"""

from __future__ import annotations

_MONEY = "shopMoney { amount currencyCode }"
_ADDRESS = "firstName lastName name company address1 address2 zip city countryCodeV2 phone"
_TAX_LINES = f"taxLines {{ rate ratePercentage title priceSet {{ {_MONEY} }} }}"
_DISCOUNTS = f"discountAllocations {{ allocatedAmountSet {{ {_MONEY} }} }}"

ORDER_FIELDS = f"""
fragment OrderFields on Order {{
  id legacyResourceId name createdAt updatedAt cancelledAt
  displayFinancialStatus displayFulfillmentStatus taxesIncluded currencyCode email phone
  totalPriceSet {{ {_MONEY} }}
  customer {{ id legacyResourceId firstName lastName email phone }}
  purchasingEntity {{ ... on PurchasingCompany {{ company {{ id name }} }} }}
  customAttributes {{ key value }}
  billingAddress {{ {_ADDRESS} }}
  shippingAddress {{ {_ADDRESS} }}
  lineItems(first: $lines) {{
    nodes {{
      id sku name quantity
      originalUnitPriceSet {{ {_MONEY} }}
      {_DISCOUNTS}
      {_TAX_LINES}
    }}
  }}
  shippingLines(first: 5) {{
    nodes {{ title code originalPriceSet {{ {_MONEY} }} {_DISCOUNTS} {_TAX_LINES} }}
  }}
}}
"""

ORDERS = (
    """
query IntegratorOrders($first: Int!, $after: String, $query: String, $lines: Int!) {
  orders(first: $first, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { ...OrderFields }
    pageInfo { hasNextPage endCursor }
  }
}
"""
    + ORDER_FIELDS
)

SHOP = """
query IntegratorShop {
  shop { name currencyCode taxesIncluded myshopifyDomain }
}
"""

VARIANTS = """
query IntegratorVariants($first: Int!, $query: String!) {
  productVariants(first: $first, query: $query) {
    nodes {
      id sku title price compareAtPrice
      product { id title hasOnlyDefaultVariant }
      inventoryItem {
        id
        inventoryLevels(first: 10) {
          nodes {
            location { id name }
            quantities(names: ["available", "on_hand"]) { name quantity }
          }
        }
      }
    }
  }
}
"""

_USER_ERRORS = "userErrors { field message code }"

# Every variant with what the products flow needs (no stock levels: those cost 10× more).
CATALOGUE = """
query IntegratorCatalogue($first: Int!, $after: String) {
  productVariants(first: $first, after: $after, sortKey: ID) {
    nodes {
      id sku title price taxable updatedAt
      product { id title status productType tags updatedAt hasOnlyDefaultVariant }
    }
    pageInfo { hasNextPage endCursor }
  }
}
"""

_CREATED_VARIANTS = "variants(first: 1) { nodes { id sku title price compareAtPrice } }"

# productSet creates a product with exactly the variants given: here one, with our SKU.
CREATE_PRODUCT = f"""
mutation IntegratorCreateProduct($input: ProductSetInput!) {{
  productSet(input: $input, synchronous: true) {{
    product {{ id title status productType {_CREATED_VARIANTS} }}
    {_USER_ERRORS}
  }}
}}
"""

UPDATE_PRODUCT = """
mutation IntegratorUpdateProduct($product: ProductUpdateInput!) {
  productUpdate(product: $product) {
    product { id title status productType }
    userErrors { field message }
  }
}
"""

SET_STOCK = f"""
mutation IntegratorSetStock($input: InventorySetQuantitiesInput!) {{
  inventorySetQuantities(input: $input) {{
    inventoryAdjustmentGroup {{ id reason changes {{ name delta quantityAfterChange }} }}
    {_USER_ERRORS}
  }}
}}
"""

ADJUST_STOCK = f"""
mutation IntegratorAdjustStock($input: InventoryAdjustQuantitiesInput!) {{
  inventoryAdjustQuantities(input: $input) {{
    inventoryAdjustmentGroup {{ id reason changes {{ name delta quantityAfterChange }} }}
    {_USER_ERRORS}
  }}
}}
"""

SET_PRICES = f"""
mutation IntegratorSetPrices($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {{
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {{
    productVariants {{ id sku price compareAtPrice }}
    {_USER_ERRORS}
  }}
}}
"""

FULFILMENT_STATE = """
query IntegratorFulfilmentState($id: ID!) {
  order(id: $id) {
    id name cancelledAt displayFulfillmentStatus
    fulfillmentOrders(first: 10) { nodes { id status } }
    fulfillments(first: 10) { id status trackingInfo { number company url } }
  }
}
"""

FULFIL = """
mutation IntegratorFulfil($fulfillment: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $fulfillment) {
    fulfillment { id status trackingInfo { number company url } }
    userErrors { field message }
  }
}
"""

CAPTURE_STATE = f"""
query IntegratorCaptureState($id: ID!) {{
  order(id: $id) {{
    id name capturable presentmentCurrencyCode
    totalCapturableSet {{ {_MONEY} }}
    transactions(first: 20) {{
      id kind status parentTransaction {{ id }} amountSet {{ {_MONEY} }}
    }}
  }}
}}
"""

CAPTURE = f"""
mutation IntegratorCapture($input: OrderCaptureInput!) {{
  orderCapture(input: $input) {{
    transaction {{ id kind status amountSet {{ {_MONEY} }} }}
    userErrors {{ field message }}
  }}
}}
"""
