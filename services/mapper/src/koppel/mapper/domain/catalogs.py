"""Field names a mapping may read (source) and write (target), per flow, so a saved mapping
is checked against them: a typo is caught when saving, not when the first order fails.

Source names are eAccounting's PascalCase (OrderApi, OrderRowApi, CustomerApi; copied from
the research notes' Appendix A) and AccountView's UPPERCASE columns. AccountView articles
carry customer-defined columns (``K1_*``) and columns the notes do not list, so any
uppercase column name is accepted there.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

ORDER_FIELDS = frozenset(
    "Id Amount CustomerId CurrencyCode CreatedUtc VatAmount RoundingsAmount DeliveredAmount "
    "DeliveredVatAmount DeliveredRoundingsAmount DeliveryCustomerName DeliveryAddress1 "
    "DeliveryAddress2 DeliveryPostalCode DeliveryCity DeliveryCountryCode YourReference "
    "OurReference BuyersOrderReference InvoiceAddress1 InvoiceAddress2 InvoiceCity "
    "InvoiceCountryCode InvoiceCustomerName CustomerNumber CustomerName InvoicePostalCode "
    "DeliveryMethodName DeliveryMethodCode DeliveryTermName DeliveryTermId DeliveryMethodId "
    "DeliveryTermCode TermsOfPaymentId EuThirdParty CustomerIsPrivatePerson IncludesVat OrderDate "
    "Status Number ModifiedUtc DeliveryDate HouseWorkAmount Rows ShippedDateTime "
    "RotReducedInvoicingType ReverseChargeOnConstructionServices UsesGreenTechnology "
    "IsNotDelivered CreatedFromQuoteId".split()
)
ORDER_ROW_FIELDS = frozenset(
    "Id LineNumber DeliveredQuantity ArticleId IsServiceArticle UnitId ArticleNumber IsTextRow "
    "Text UnitPrice Amount IsDiscountInFixedAmount DiscountFixedAmount DiscountPercentage Quantity "
    "WorkCostType IsWorkCost WorkHours MaterialCosts EligibleForReverseChargeOnVat VatRate "
    "CostCenterItemId1 CostCenterItemId2 CostCenterItemId3 ProjectId GreenTechnologyType "
    "PurchasePrice FreightCosts".split()
)
CUSTOMER_FIELDS = frozenset(
    "Id InvoiceCity InvoicePostalCode GLN EmailAddressOrder EmailAddressQuote TermsOfPayment "
    "LastInvoiceDate PropertyType PropertyReference ChangedUtc CustomerLabels Iban "
    "IsDirectDebitEnabled DiscountAgreementId CustomerNumber CorporateIdentityNumber "
    "ContactPersonEmail ContactPersonMobile ContactPersonName ContactPersonPhone CurrencyCode "
    "EmailAddress InvoiceAddress1 InvoiceAddress2 InvoiceCountryCode DeliveryAddress1 "
    "DeliveryAddress2 DeliveryCity DeliveryCountryCode DeliveryPostalCode DeliveryCustomerName "
    "DeliveryMethodId DeliveryTermId Name Note ReverseChargeOnConstructionServices "
    "WebshopCustomerNumber MobilePhone Telephone TermsOfPaymentId VatNumber WwwAddress "
    "IsPrivatePerson IsNorthernIreland DiscountPercentage IsActive ForceBookkeepVat EdiGlnNumber "
    "SalesDocumentLanguage ElectronicAddress ElectronicReference EmailAddresses DeliveryBasedVat "
    "SalesPriceListId".split()
)
ARTICLE_COLUMNS = frozenset(
    "ART_CODE ART_DESC1 ART_DESC2 AG_CODE PX_SELL COST_PX L_COSTPX B_COSTPX QTY_AVAIL QTY_FREE2 "
    "QTY_TECH QTY_BESTEL IMG_MEDIUM IMG_M_DATA CNG_DATE INP_DATE VAT_CODE REC_BLK EAN_CODE "
    "UNIT_CODE REC_ID".split()
)
ENRICHMENT_FIELDS = None  # the poller's enrichment is open-ended (store id, e-mail, shipping...)

_UPPER_COLUMN = re.compile(r"^[A-Z][A-Z0-9_]{0,19}$")


class ColumnNames(Collection[str]):
    """Known AccountView columns for suggestions; any uppercase column name is accepted."""

    def __init__(self, known: frozenset[str]) -> None:
        self.known = known

    def __contains__(self, name: Any) -> bool:
        return isinstance(name, str) and (name in self.known or bool(_UPPER_COLUMN.match(name)))

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self.known))

    def __len__(self) -> int:
        return len(self.known)


ARTICLE_SOURCE = ColumnNames(ARTICLE_COLUMNS)
