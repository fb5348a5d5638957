"""Events the orders service emits on ``orders.events``: the buyer's order and what
becomes of the contract."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from contracts.base import Event, Value
from contracts.personal import Sealed
from contracts.vocabulary import (
    BlockReason,
    Cents,
    DeliveryMethod,
    LineQuantity,
    PricedLine,
    Quantity,
    Sku,
)

__all__ = [
    "BillingDataRetained",
    "BillingRetentionEnded",
    "BuyerDataErased",
    "BuyerDataErasureDeferred",
    "BuyerDataRestricted",
    "CancelledLinePaid",
    "ConfirmationSent",
    "ContractTerminated",
    "LineExchanged",
    "LineUnavailable",
    "OrderAwaitingVerification",
    "OrderBlocked",
    "OrderCancelled",
    "OrderConfirmed",
    "OrderDelivered",
    "OrderDeliveryOverdue",
    "OrderLineCancelled",
    "OrderPaid",
    "OrderPlaced",
    "OrderShipped",
    "OrderUnblocked",
    "OrderVerified",
    "PaymentReceivedAfterCancellation",
    "PerformanceRequested",
    "PersonalDataRectified",
    "ProofOfDispatchReceived",
    "TerminationVoided",
    "UnavailabilityNotified",
    "WithdrawalRequested",
]


class OrderPlaced(Event):
    """The buyer validated the order: proof of agreement to its lines, prices and terms (Art. 5).

    ``personal`` is the buyer's ``PersonalData`` (e-mail, phone, delivery address), sealed.
    """

    buyer_id: str
    lines: tuple[PricedLine, ...]
    personal: Sealed
    delivery_method: DeliveryMethod
    delivery_charge_cents: Cents
    products_total_cents: Cents
    total_cents: Cents
    terms_version: str
    validated_at: dt.datetime


class OrderPaid(Event):
    """The full price is received (the payments service captured it)."""

    payment_id: str
    amount_cents: Cents
    paid_at: dt.datetime


class ConfirmationSent(Event):
    """The confirmation of acceptance was accepted by the mail server for the buyer."""

    message_id: str
    sent_at: dt.datetime


class OrderAwaitingVerification(Event):
    """The seller requires identity documents: the order waits until they are checked."""


class OrderVerified(Event):
    """The buyer's identity documents were accepted: the order may become final."""


class OrderCancelled(Event):
    """The whole order is cancelled: never paid in time, identity not verified, at the
    buyer's request before shipping (an order not paid yet when its buyer asks for erasure: no
    sale is formed before payment, and it could no longer be confirmed to anyone), or every
    line cancelled before the parcel left (each line's cancellation owes its price back, so
    ``refund_cents`` is 0). Money captured for it afterwards is owed back."""

    reason: Literal["unpaid", "identity_verification_failed", "buyer_request",
                    "every_line_cancelled"]
    cancelled_at: dt.datetime
    refund_cents: Cents = Field(default=0, description="the sums paid, owed back")
    products_cents: Cents = Field(default=0, description="the products' part of refund_cents")


class PaymentReceivedAfterCancellation(Event):
    """The full price was received (the payments service captured it) after the order was
    cancelled: it was cancelled with nothing to refund, so all of it is owed back now.

    The bank can capture while the order is being cancelled (an unpaid order's timeout, an
    identity check failed, the buyer's request): the capture is recorded as the bank made it,
    and this is what the order makes of it."""

    payment_id: str
    amount_cents: Cents = Field(description="the sums received, all owed back")
    products_cents: Cents = Field(description="the products' part of amount_cents")
    received_at: dt.datetime


class OrderConfirmed(Event):
    """The sale is final: acceptance confirmed to the buyer and the full price captured."""

    confirmed_at: dt.datetime
    amount_cents: Cents


class OrderShipped(Event):
    """The order left the warehouse (fulfilment's ``Shipped``, as the contract sees it)."""

    shipped_at: dt.datetime


class OrderDelivered(Event):
    """The last item was delivered (with or without reservations): the withdrawal window
    runs from ``delivered_on``."""

    delivered_on: dt.date


class OrderDeliveryOverdue(Event):
    """The delivery deadline ``deadline`` passed without delivery: the buyer may ask for
    performance within an additional period."""

    deadline: dt.date


class OrderDeliveryOverdueWithdrawn(Event):
    """The delivery is not overdue after all: a suspension declared since (force majeure, an
    announced closure) moved its deadline to ``deadline``. The buyer's remedies for late
    delivery wait for it again; an additional period they gave meanwhile is void."""

    deadline: dt.date


class OrderBlocked(Event):
    """The seller blocked the order until a problem is resolved (Art. 4)."""

    reason: BlockReason
    detail: str = ""


class OrderUnblocked(Event):
    """The problem that blocked the order is resolved."""

    resolution: str
    unblocked_at: dt.datetime | None = Field(
        default=None, description="when (the time to pay runs again from it); none in events "
                                  "recorded before it was kept")


class LineUnavailable(Event):
    """A line could not be reserved: the buyer chooses, by ``reply_by``, to cancel it or to
    take an equivalent wine at the same price; without an answer it is cancelled."""

    sku: Sku
    quantity: Quantity
    reply_by: dt.datetime


class UnavailabilityNotified(Event):
    """The buyer was told by e-mail that the line is unavailable, and of their choice; an
    unanswered line is cancelled only once its buyer was told. When the notice went out later
    than planned (the mail server down), the time to reply runs from it: ``reply_by`` is the
    line's new time to reply (None: as the line's ``reply_by``)."""

    sku: Sku
    message_id: str
    reply_by: dt.datetime | None = None


class LineExchanged(Event):
    """The buyer accepted ``replacement_sku``, an equivalent wine at the same price, instead
    of the unavailable ``sku``."""

    sku: Sku
    replacement_sku: Sku
    quantity: Quantity


class OrderLineCancelled(Event):
    """One line of the order is cancelled (unavailable product or blocked line) and owed back."""

    sku: Sku
    quantity: Quantity
    refund_cents: Cents
    cause: Literal["unavailable", "blocked", "buyer_request"]
    cancelled_on: dt.date
    paid_on: dt.date | None = Field(
        default=None, description="when the order was paid; none: nothing was paid, none owed")


class CancelledLinePaid(Event):
    """A line cancelled before the order was paid was paid all the same (the payment was asked
    for before the cancellation reached the payments service): its price is owed back, as its
    cancellation's cause says, counted from the day it was paid."""

    sku: Sku
    quantity: Quantity
    refund_cents: Cents
    cause: Literal["unavailable", "blocked", "buyer_request"]
    cancelled_on: dt.date
    paid_on: dt.date


class PerformanceRequested(Event):
    """After a missed delivery deadline, the buyer asks for delivery within an extra period."""

    requested_on: dt.date
    additional_deadline: dt.date


class ContractTerminated(Event):
    """The buyer terminated the contract (late delivery); effective when the seller receives it."""

    cause: Literal["late_delivery", "manifest_non_delivery", "essential_date_missed"]
    received_on: dt.date
    refund_cents: Cents
    products_cents: Cents | None = Field(
        default=None, description="the products' part of refund_cents (the surcharge's cap)")


class TerminationVoided(Event):
    """The termination did not take effect: the order was delivered (``delivered_on``) before
    the seller received the termination (``received_on``), which the orders service learnt
    only after recording it (L.216-6: "unless the seller performed in the meantime"). The
    contract stands, delivered; nothing is owed back for the termination."""

    delivered_on: dt.date
    received_on: dt.date


class WithdrawalRequested(Event):
    """The buyer exercised the right of withdrawal (Art. 16) for some or all products."""

    notice_on: dt.date
    lines: tuple[LineQuantity, ...]
    products_refund_cents: Cents
    delivery_refund_cents: Cents


class PersonalDataRectified(Event):
    """At the buyer's request, the order's personal fields were corrected; ``personal`` is the
    whole corrected ``PersonalData``, sealed, and replaces the earlier one."""

    buyer_id: str
    personal: Sealed
    rectified_at: dt.datetime
    delivery_address_rectified: bool = Field(default=False, description=(
        "the delivery address was given again (a parcel back for an incorrect or incomplete "
        "address may then ship again)"))


class BuyerDataRestricted(Event):
    """At the buyer's request, processing of their personal data on this order is restricted
    until ``until`` (the billing retention): kept, shown to auditors only."""

    buyer_id: str
    restricted_at: dt.datetime
    until: dt.date


class BillingDataRetained(Event):
    """Whom the order's invoice bills is kept, sealed apart, until its retention ends.

    Erasure reached an order already invoiced: billing documents are kept 10 years, so whom
    the invoice bills (its billing address, else the delivery address: ``billed_to``, a sealed
    ``DeliveryAddress``) is sealed again under a key of the order's own, shown on the invoice
    only, until ``until`` (the invoice's date + 10 years), when that key is destroyed
    (``BillingRetentionEnded``). Every other personal field is erased with the buyer's key
    (``BuyerDataErased``, recorded with it)."""

    buyer_id: str
    billed_to: Sealed
    until: dt.date


class BillingRetentionEnded(Event):
    """The billing retention of an erased order ended: the key sealing whom its invoice
    bills is destroyed, and the invoice reads ``[erased]`` there too."""

    ended_on: dt.date


class BuyerDataErased(Event):
    """The buyer's key was destroyed at their request: every personal field of this order, in
    every topic, table and read model, now reads ``[erased]``. Amounts, dates and the billing
    records stay."""

    buyer_id: str
    erased_at: dt.datetime


class BuyerDataErasureDeferred(Event):
    """The buyer asked for erasure while orders of theirs were paid and still to be performed
    (``awaiting``: the confirmation, the delivery need their data): the data is kept for that
    alone, and erased (``BuyerDataErased``) by the orders worker once none of the buyer's
    orders is. Recorded once on each of the buyer's orders."""

    buyer_id: str
    requested_at: dt.datetime
    awaiting: list[str] = Field(description="the buyer's orders still to be performed")


class ProofOfDispatchReceived(Event):
    """The buyer proved they sent the withdrawn goods back on ``dispatched_on``."""

    dispatched_on: dt.date


class InvoiceLine(Value):
    """One line of an invoice: VAT-inclusive prices as ordered, and the VAT they contain."""

    label: str
    quantity: Annotated[int, Field(ge=1)]
    unit_price_incl_vat_cents: Cents
    unit_price_excl_vat_cents: Cents
    vat_rate: Decimal
    total_excl_vat_cents: Cents
    vat_cents: Cents
    total_incl_vat_cents: Cents


class InvoiceIssued(Event):
    """The sale is final: invoice ``number`` (sequential, without gaps) for what was paid. The
    buyer's identity and billing address are the order's sealed personal data, not copied."""

    number: Annotated[int, Field(ge=1)]
    invoice_id: str
    issued_on: dt.date
    seller: str
    seller_vat_number: str
    lines: tuple[InvoiceLine, ...]
    total_excl_vat_cents: Cents
    vat_cents: Cents
    total_incl_vat_cents: Cents
    vat_version: str
    terms_version: str


class CreditNoteIssued(Event):
    """A refund was paid: credit note ``number`` (its own gap-free sequence) on the order's
    invoice, the refunded price with its VAT, and the late-refund surcharge (compensation,
    outside the scope of VAT) apart."""

    number: Annotated[int, Field(ge=1)]
    credit_note_id: str
    invoice_id: str
    refund_id: str
    issued_on: dt.date
    total_excl_vat_cents: Cents
    vat_cents: Cents
    total_incl_vat_cents: Cents
    surcharge_cents: Cents
    vat_version: str
