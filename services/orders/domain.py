"""Orders: the pure decisions on an order and how its events change its state. No I/O, no clock."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from contracts.base import Event
from contracts.orders import (
    BillingDataRetained,
    BillingRetentionEnded,
    BuyerDataErased,
    BuyerDataErasureDeferred,
    BuyerDataRestricted,
    CancelledLinePaid,
    ConfirmationSent,
    ContractTerminated,
    LineExchanged,
    LineUnavailable,
    OrderAwaitingVerification,
    OrderBlocked,
    OrderCancelled,
    OrderConfirmed,
    OrderDelivered,
    OrderDeliveryOverdue,
    OrderDeliveryOverdueWithdrawn,
    OrderLineCancelled,
    OrderPaid,
    OrderPlaced,
    OrderShipped,
    OrderUnblocked,
    OrderVerified,
    PaymentReceivedAfterCancellation,
    PerformanceRequested,
    PersonalDataRectified,
    ProofOfDispatchReceived,
    TerminationVoided,
    UnavailabilityNotified,
    WithdrawalRequested,
)
from contracts.personal import PersonalData, Sealed
from contracts.policies import add_years, paris_date
from contracts.vocabulary import BlockReason, DeliveryAddress, DeliveryMethod, PricedLine
from services.orders import addresses
from services.orders.after_sale import AfterSaleCommand, Contract, decide_after_sale
from services.orders.lines import (
    CancelLine,
    CancelUnansweredLines,
    ExchangeLine,
    LineCommand,
    Lines,
    NoteUnavailable,
    RecordUnavailabilityNotified,
    decide_line,
)

OrderStatus = Literal["placed", "confirmed", "shipped", "delivered", "withdrawn", "cancelled",
                      "terminated"]
PersonalDataStatus = Literal["held", "restricted", "erased"]
VerificationStatus = Literal["none", "pending", "passed"]
OUTSIDE_FRANCE = "deliveries outside France: contact the seller"
_POSTCODE = re.compile(r"[0-9]{5}")
_METROPOLITAN = range(1000, 96000)  # postcodes 01000–95999, Corsica (20xxx) included
LEGAL_AGE = 18
"""No alcohol is sold to a buyer under 18 (Code de la santé publique L.3342-1)."""
UNDER_AGE = "the buyer must be 18 or over to buy alcohol (L.3342-1)"
NO_AGE = ("give the buyer's date_of_birth, or declared_of_age: true, to buy alcohol "
          "(L.3342-1)")


class InvalidOrderError(ValueError):
    """The command breaks a rule of ordering; names the field and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class OfferConflictError(InvalidOrderError):
    """The order is well formed but does not match the offer in force (terms, catalogue)."""


class OrderConflictError(Exception):
    """The command does not fit the order's current state."""


class OrderNotFoundError(LookupError):
    """No order with this id."""


@dataclass(frozen=True)
class CatalogueItem:
    """A wine on sale and its price in force (cents, VAT included)."""

    sku: str
    name: str
    price_cents: int


@dataclass(frozen=True)
class Offer:
    """What the shop offers at the time of ordering: prices, delivery charges, current terms."""

    items: Mapping[str, CatalogueItem]
    delivery_charges: Mapping[str, int]
    terms_version: str


@dataclass(frozen=True)
class RequestedLine:
    """A line as the buyer asks for it."""

    sku: str
    quantity: int


@dataclass(frozen=True)
class RequestedAddress:
    """A delivery address as the buyer gives it (any country: the rules decide)."""

    recipient: str
    street: str
    postcode: str
    city: str
    street_extra: str | None = None
    country: str = "FR"


@dataclass(frozen=True)
class OrderRequest:
    """What the buyer validates: lines, contact, address, delivery method and the terms, and
    how they are of age (a date of birth, or their declaration); the invoice goes to
    ``billing_address`` when given, else to the delivery address."""

    buyer_id: str
    email: str
    lines: tuple[RequestedLine, ...]
    delivery_address: RequestedAddress
    delivery_method: DeliveryMethod
    accepted_terms_version: str
    phone: str | None = None
    date_of_birth: dt.date | None = None
    declared_of_age: bool = False
    billing_address: RequestedAddress | None = None
    accepted_total_cents: int | None = None  # the total the buyer saw when validating


@dataclass(frozen=True)
class PlaceOrder:
    """The buyer's final validation of an order, against the offer in force.

    ``personal`` is ``buyer_personal_data(request)`` sealed with the buyer's key by the handler (the
    domain never sees keys).
    """

    request: OrderRequest
    offer: Offer
    personal: Sealed


@dataclass(frozen=True)
class BlockOrder:
    """The seller blocks the order until a problem is resolved."""

    reason: BlockReason
    detail: str = ""


@dataclass(frozen=True)
class UnblockOrder:
    """The seller lifts the block."""

    resolution: str


@dataclass(frozen=True)
class RectifyPersonalData:
    """The buyer's corrected personal fields (validated by ``personal_data``), sealed; with
    ``delivery_address`` when the delivery address was given again (screened as at ordering:
    one that may be a temporary residence blocks an order still to be delivered)."""

    buyer_id: str
    personal: Sealed
    delivery_address: RequestedAddress | None = None


@dataclass(frozen=True)
class RestrictBuyerData:
    """The buyer asks that their personal data be kept but not processed until ``until``."""

    buyer_id: str
    until: dt.date


@dataclass(frozen=True)
class KeptBilling:
    """Whom an invoice bills (``billed_to``, sealed under the order's own key), kept until
    ``until``, the end of the billing retention."""

    billed_to: Sealed
    until: dt.date


@dataclass(frozen=True)
class EraseBuyerData:
    """The buyer asks that their personal data be erased; on an order whose sale is final,
    whom the invoice bills is ``kept`` for the billing retention. While orders of the buyer's
    are paid and still to be performed (``awaiting``), erasure waits for them."""

    buyer_id: str
    kept: KeptBilling | None = None
    awaiting: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndBillingRetention:
    """The sweep's question: has the billing retention of this erased order ended?"""


@dataclass(frozen=True)
class RecordPayment:
    """The payments service captured the order's price."""

    payment_id: str
    amount_cents: int
    paid_at: dt.datetime


@dataclass(frozen=True)
class RecordConfirmationSent:
    """The mail server accepted the confirmation of acceptance for the buyer."""

    message_id: str


@dataclass(frozen=True)
class AwaitVerification:
    """The seller requires identity documents (the payments service recorded it)."""


@dataclass(frozen=True)
class RecordVerification:
    """The documents were checked: accepted, or rejected (the order is then cancelled)."""

    accepted: bool


SaleStep = RecordPayment | RecordConfirmationSent | AwaitVerification | RecordVerification
Command = (PlaceOrder | BlockOrder | UnblockOrder | RectifyPersonalData | RestrictBuyerData
           | EraseBuyerData | EndBillingRetention | SaleStep | AfterSaleCommand | LineCommand)
BuyerRequest = RectifyPersonalData | RestrictBuyerData | EraseBuyerData


class UnpaidCancellation(BaseModel):
    """A line cancelled before the order was paid (its price not owed back, unless paid)."""

    model_config = ConfigDict(frozen=True)
    sku: str
    quantity: int
    refund_cents: int
    cause: Literal["unavailable", "blocked", "buyer_request"]
    cancelled_on: dt.date


class OrderState(BaseModel):
    """The decision state of one order (no personal field: this state is stored in clear)."""

    model_config = ConfigDict(frozen=True)
    status: OrderStatus
    blocked: bool = False
    block_reason: str | None = None
    payable_since: dt.datetime | None = None
    total_cents: int
    buyer_id: str
    personal_data: PersonalDataStatus = "held"
    restricted_until: dt.date | None = None
    billing_retained_until: dt.date | None = None  # erased: whom the invoice bills, kept
    billing_retention_ended: bool = False
    erasure_requested: bool = False  # deferred while orders of the buyer's are performed
    paid: bool = False
    confirmation_sent: bool = False
    verification: VerificationStatus = "none"
    placed_at: dt.datetime | None = None
    lines: tuple[PricedLine, ...] = ()
    delivery_charge_cents: int = 0
    paid_cents: int = 0
    paid_on: dt.date | None = None
    delivered_on: dt.date | None = None
    overdue_deadline: dt.date | None = None
    perform_by: dt.date | None = None
    terminated_on: dt.date | None = None  # when the seller received the termination
    proof_of_dispatch_on: dt.date | None = None  # the earliest day the buyer proved
    unavailable: tuple[tuple[str, dt.datetime], ...] = ()
    notified: tuple[str, ...] = ()
    settled: tuple[str, ...] = ()
    exchanged: tuple[str, ...] = ()
    replacements: dict[str, str] = {}  # an exchanged line → the wine it was exchanged for
    withdrawn_skus: tuple[str, ...] = ()  # what the withdrawal owes back (a replacement's sku)
    refunded_cents: int = 0
    cancelled_unpaid: tuple[UnpaidCancellation, ...] = ()
    waived_cents: int = 0


_SENT = ("shipped", "delivered", "withdrawn")
"""Statuses of an order whose parcel left: an unavailable line was not in it."""


def _check_lines_open(state: OrderState, command: LineCommand) -> None:
    """Lines change while the order is placed or confirmed. Once the parcel left without an
    unavailable line the buyer has not answered for, that line may still be cancelled (and
    refunded), by the buyer or when the time to reply is up, but not exchanged: the parcel
    is gone."""
    if state.status in ("placed", "confirmed") or isinstance(
            command, NoteUnavailable | RecordUnavailabilityNotified):
        return
    if state.status in _SENT and (isinstance(command, CancelUnansweredLines) or (
            isinstance(command, CancelLine) and command.by == "buyer")):
        return
    if state.status in _SENT and isinstance(command, ExchangeLine):
        raise OrderConflictError(f"the order is {state.status}: an unavailable line can only "
                                 "be cancelled now (and refunded)")
    raise OrderConflictError(f"the order is {state.status}: its lines are settled")


def _not_withdrawn(state: OrderState, command: LineCommand, events: list[Event]) -> list[Event]:
    """The line decisions, less the cancellation of a line the withdrawal already owes back
    (itself, or the wine delivered instead of it): refused when the buyer asks for it."""
    owed = {*state.withdrawn_skus, *(line for line, wine in state.replacements.items()
                                     if wine in state.withdrawn_skus)}
    twice = [e for e in events if isinstance(e, OrderLineCancelled) and e.sku in owed]
    if twice and isinstance(command, CancelLine):
        raise OrderConflictError(f"{command.sku} is owed back by the withdrawal already")
    return [event for event in events if event not in twice]


def decide(state: OrderState | None, command: Command, now: dt.datetime) -> list[Event]:
    """The events that ``command`` produces on ``state`` at ``now``, or a domain error."""
    if isinstance(command, PlaceOrder):
        return place_order(state, command, now)
    if state is None:
        raise OrderNotFoundError("no such order")
    if isinstance(command, BuyerRequest):
        return buyer_request(state, command, now)
    if isinstance(command, EndBillingRetention):
        return end_billing_retention(state, paris_date(now))
    if isinstance(command, RecordPayment | RecordConfirmationSent):
        return sale_progress(state, command, now)
    if isinstance(command, AwaitVerification | RecordVerification):
        return verification(state, command, now)
    if isinstance(command, AfterSaleCommand):
        return decide_after_sale(_contract(state), command, now)
    if isinstance(command, LineCommand):
        _check_lines_open(state, command)
        if isinstance(command, NoteUnavailable) and state.status in ("cancelled", "terminated"):
            return []  # all sums paid are owed back already
        events = _line_decision(state, command, now)  # the order ends with its last line
        return [*events, *_cancelled_if_nothing_left(_evolved(state, events), now)] if events \
            else []
    if isinstance(command, BlockOrder):
        if state.blocked:
            raise OrderConflictError("the order is already blocked")
        return [OrderBlocked(reason=command.reason, detail=command.detail)]
    if not state.blocked:
        raise OrderConflictError("the order is not blocked")
    unblocked = OrderUnblocked(resolution=command.resolution, unblocked_at=now)
    return [unblocked, *_confirmed_if_final(evolve(state, unblocked), now)]


def sale_progress(state: OrderState, command: RecordPayment | RecordConfirmationSent,
                  now: dt.datetime) -> list[Event]:
    """Record the payment or the confirmation sent (each once); the sale is final, and the
    order confirmed, when both are recorded and the order is not blocked (Art. 4, 5, 10)."""
    if isinstance(command, RecordPayment):
        events = record_payment(state, command, now)
    else:
        events = [] if state.confirmation_sent else [
            ConfirmationSent(message_id=command.message_id, sent_at=now)]
    return events + _confirmed_if_final(_evolved(state, events), now) if events else []


def record_payment(state: OrderState, command: RecordPayment,
                   now: dt.datetime) -> list[Event]:
    """The payment, once; with what it paid for lines cancelled before it, or, for an order
    cancelled before it reached it, all of it owed back."""
    if state.paid:
        return []
    if state.status == "cancelled":
        return [_owed_back(state, command)]
    paid = OrderPaid(payment_id=command.payment_id, amount_cents=command.amount_cents,
                     paid_at=command.paid_at)
    events = [paid, *_cancelled_lines_paid(state, command.amount_cents,
                                           paris_date(command.paid_at))]
    return [*events, *_cancelled_if_nothing_left(_evolved(state, events), now)]


def _cancelled_lines_paid(state: OrderState, amount_cents: int,
                          paid_on: dt.date) -> list[Event]:
    """The lines cancelled before the payment that it paid all the same: what it exceeds the
    order's total less those lines by, the latest cancellations first (the payments service
    had taken the earlier ones off the amount it asked)."""
    excess = amount_cents - (state.total_cents
                             - sum(line.refund_cents for line in state.cancelled_unpaid))
    paid: list[Event] = []
    for line in reversed(state.cancelled_unpaid):
        if excess <= 0:
            break
        paid.insert(0, CancelledLinePaid(
            sku=line.sku, quantity=line.quantity, refund_cents=min(excess, line.refund_cents),
            cause=line.cause, cancelled_on=line.cancelled_on, paid_on=paid_on))
        excess -= line.refund_cents
    return paid


def _evolved(state: OrderState, events: list[Event]) -> OrderState:
    for event in events:
        state = evolve(state, event)
    return state


def _owed_back(state: OrderState, command: RecordPayment) -> Event:
    """A payment the bank took while the order was being cancelled: all of it is owed back."""
    return PaymentReceivedAfterCancellation(
        payment_id=command.payment_id, amount_cents=command.amount_cents,
        products_cents=min(command.amount_cents, _products_kept(state)),
        received_at=command.paid_at)


def verification(state: OrderState, command: AwaitVerification | RecordVerification,
                 now: dt.datetime) -> list[Event]:
    """A placed order waits for its identity check; accepted, it may become final; rejected,
    it is cancelled (what was captured is owed back)."""
    if state.status != "placed":
        return []
    if isinstance(command, AwaitVerification):
        return [] if state.verification == "pending" else [OrderAwaitingVerification()]
    if state.verification != "pending":
        return []
    if not command.accepted:
        refund = max(0, state.paid_cents - state.refunded_cents)
        return [OrderCancelled(reason="identity_verification_failed", cancelled_at=now,
                               refund_cents=refund,
                               products_cents=min(refund, _products_kept(state)))]
    verified = OrderVerified()
    return [verified, *_confirmed_if_final(evolve(state, verified), now)]


def _line_decision(state: OrderState, command: LineCommand, now: dt.datetime) -> list[Event]:
    lines = Lines(state.lines, state.blocked, state.unavailable, state.notified, state.settled,
                  state.exchanged, state.delivery_charge_cents,
                  tuple(state.replacements.items()), state.personal_data == "erased")
    return [_with_payment(state, event)
            for event in _not_withdrawn(state, command, decide_line(lines, command, now))]


def _cancelled_if_nothing_left(state: OrderState, now: dt.datetime) -> list[Event]:
    """A paid order whose every line was cancelled before the parcel left has nothing left to
    sell or deliver: it is cancelled, never confirmed, shipped or overdue. Each line's price,
    and the delivery charge with the last, is owed back by the line's own cancellation (or,
    cancelled before the payment, by ``CancelledLinePaid``), so nothing more is owed. Unpaid,
    it waits for its payment (what that pays of the lines is owed back as they say) or for
    its time to pay to run out."""
    if not state.paid or state.status not in ("placed", "confirmed") or any(
            line.sku not in state.settled or line.sku in state.exchanged for line in state.lines):
        return []
    return [OrderCancelled(reason="every_line_cancelled", cancelled_at=now)]


def _with_payment(state: OrderState, event: Event) -> Event:
    """A cancelled line says whether (and when) it was paid: only then is it owed back."""
    if isinstance(event, OrderLineCancelled) and state.paid:
        return event.model_copy(update={"paid_on": state.paid_on})
    return event


def _products_kept(state: OrderState) -> int:
    """The price of the products still in the order (paid lines cancelled are refunded, lines
    cancelled before the payment were never charged)."""
    return max(0, sum(line.line_total_cents for line in state.lines) - state.refunded_cents
               - state.waived_cents)


def cancel_if_unpaid(state: OrderState | None, now: dt.datetime,
                     timeout: dt.timedelta) -> list[Event]:
    """A placed order still unpaid ``timeout`` after it was placed, or after its last block was
    lifted, is cancelled; not while it is blocked, since it cannot be paid then, unless it is
    blocked for non-payment itself (Art. 4: blocked "until the problem is resolved")."""
    if state is None or state.status != "placed" or state.paid or state.placed_at is None:
        return []
    if state.blocked and state.block_reason not in ("non_payment", None):
        return []  # None: blocked before the reason was kept, judged as it was then
    if now - max(state.placed_at, state.payable_since or state.placed_at) < timeout:
        return []
    return [OrderCancelled(reason="unpaid", cancelled_at=now)]


def _confirmed_if_final(state: OrderState | None, now: dt.datetime) -> list[Event]:
    state = _require(state)
    if (state.status == "placed" and state.paid and state.confirmation_sent
            and not state.blocked and state.verification != "pending"):
        return [OrderConfirmed(confirmed_at=now, amount_cents=state.paid_cents)]
    return []


def place_order(state: OrderState | None, command: PlaceOrder, now: dt.datetime) -> list[Event]:
    """Validate the order against the rules of ordering and record it with the prices in force.

    An address the screening cannot settle (``addresses.screen`` holds it) is accepted and the
    order blocked at once for an incorrect address, until an operator checks and unblocks it.
    """
    if state is not None:
        raise OrderConflictError("the order already exists")
    request, offer = command.request, command.offer
    buyer_personal_data(request)
    _check_terms(command)
    check_of_age(request.date_of_birth, request.declared_of_age, paris_date(now))
    lines = _priced_lines(command)
    if request.delivery_method not in offer.delivery_charges:
        raise OfferConflictError("delivery_method", "delivery method not offered")
    charge = offer.delivery_charges[request.delivery_method]
    products = sum(line.line_total_cents for line in lines)
    _check_total(request, products, charge)
    return [OrderPlaced(
        buyer_id=request.buyer_id, lines=lines, personal=command.personal,
        delivery_method=request.delivery_method, delivery_charge_cents=charge,
        products_total_cents=products, total_cents=products + charge,
        terms_version=request.accepted_terms_version, validated_at=now),
        *_held_for_address(request.delivery_address)]


def check_of_age(date_of_birth: dt.date | None, declared_of_age: bool, today: dt.date) -> None:
    """Refuse a sale of alcohol to a minor (L.3342-1): a buyer born on ``date_of_birth`` is of
    age from their 18th birthday (29 February: 1 March in a common year, ``add_years``); without
    a date of birth, the buyer must declare they are of age. The date, when given, decides."""
    if date_of_birth is None:
        if not declared_of_age:
            raise InvalidOrderError("date_of_birth", NO_AGE)
        return
    if date_of_birth > today:
        raise InvalidOrderError("date_of_birth", "a date of birth cannot be in the future")
    if add_years(date_of_birth, LEGAL_AGE) > today:
        raise InvalidOrderError("date_of_birth", UNDER_AGE)


def _held_for_address(address: RequestedAddress) -> list[Event]:
    """The block an address in doubt puts on the order (refusals were raised before)."""
    finding = addresses.screen(address.recipient, address.street, address.street_extra)
    if finding is None or finding.verdict != "hold":
        return []
    return [OrderBlocked(reason="incorrect_address", detail=finding.reason)]


def buyer_request(state: OrderState, command: BuyerRequest, now: dt.datetime) -> list[Event]:
    """The data subject's rights on one of their orders: rectify, restrict, erase.

    Erasure and restriction are idempotent (asking again records nothing); nothing can be
    rectified or restricted once erased. Another buyer's order is not found.
    """
    if command.buyer_id != state.buyer_id:
        raise OrderNotFoundError("no such order for this buyer")
    if state.personal_data == "erased":
        if isinstance(command, EraseBuyerData):
            return []
        raise OrderConflictError("the buyer's personal data on this order is erased")
    if isinstance(command, EraseBuyerData):
        return erase(state, command, now)
    if isinstance(command, RestrictBuyerData):
        if state.restricted_until is not None and state.restricted_until >= command.until:
            return []
        return [BuyerDataRestricted(buyer_id=state.buyer_id, restricted_at=now,
                                    until=command.until)]
    address = command.delivery_address
    # the block first: fulfilment then holds a parcel back for its address before the
    # correction would let it go
    held = (_held_for_address(address) if address is not None and not state.blocked
            and state.status in PERFORMED_LATER else [])
    return [*held, PersonalDataRectified(buyer_id=state.buyer_id, personal=command.personal,
                                         rectified_at=now,
                                         delivery_address_rectified=address is not None)]


def evolve(state: OrderState | None, event: Event) -> OrderState:
    """The order's state after ``event``."""
    match event:
        case OrderPlaced():
            return OrderState(status="placed", total_cents=event.total_cents,
                              buyer_id=event.buyer_id, placed_at=event.validated_at,
                              lines=event.lines,
                              delivery_charge_cents=event.delivery_charge_cents)
        case OrderBlocked():
            return _require(state).model_copy(update={"blocked": True,
                                                      "block_reason": event.reason})
        case OrderUnblocked():
            current = _require(state)
            return current.model_copy(update={
                "blocked": False, "block_reason": None,
                "payable_since": event.unblocked_at or current.payable_since})
        case BuyerDataRestricted():
            return _require(state).model_copy(
                update={"personal_data": "restricted", "restricted_until": event.until})
        case BuyerDataErased():
            return _require(state).model_copy(update={"personal_data": "erased"})
        case BuyerDataErasureDeferred():
            return _require(state).model_copy(update={"erasure_requested": True})
        case BillingDataRetained():
            return _require(state).model_copy(update={"billing_retained_until": event.until})
        case BillingRetentionEnded():
            return _require(state).model_copy(update={"billing_retention_ended": True})
        case OrderPaid():
            return _require(state).model_copy(update={
                "paid": True, "paid_cents": event.amount_cents,
                "paid_on": paris_date(event.paid_at)})
        case PaymentReceivedAfterCancellation():
            return _require(state).model_copy(update={
                "paid": True, "paid_cents": event.amount_cents,
                "paid_on": paris_date(event.received_at)})
        case ConfirmationSent():
            return _require(state).model_copy(update={"confirmation_sent": True})
        case OrderConfirmed():
            return _require(state).model_copy(update={"status": "confirmed"})
        case OrderCancelled():
            return _require(state).model_copy(update={"status": "cancelled"})
        case OrderAwaitingVerification():
            return _require(state).model_copy(update={"verification": "pending"})
        case OrderVerified():
            return _require(state).model_copy(update={"verification": "passed"})
    return _evolve_after_sale(_require(state), event)


def _evolve_after_sale(state: OrderState, event: Event) -> OrderState:
    match event:
        case OrderShipped():
            return state.model_copy(update={"status": "shipped"})
        case OrderDelivered():
            return state.model_copy(update={"status": "delivered",
                                            "delivered_on": event.delivered_on})
        case OrderDeliveryOverdue():
            return state.model_copy(update={"overdue_deadline": event.deadline})
        case OrderDeliveryOverdueWithdrawn():
            return state.model_copy(update={"overdue_deadline": None, "perform_by": None})
        case ProofOfDispatchReceived():
            earliest = min(filter(None, (state.proof_of_dispatch_on, event.dispatched_on)))
            return state.model_copy(update={"proof_of_dispatch_on": earliest})
        case PerformanceRequested():
            return state.model_copy(update={"perform_by": event.additional_deadline})
        case ContractTerminated():
            return state.model_copy(update={"status": "terminated",
                                            "terminated_on": event.received_on})
        case TerminationVoided():  # the delivery recorded with it sets the status
            return state.model_copy(update={"status": "shipped", "terminated_on": None})
        case WithdrawalRequested():
            return state.model_copy(update={
                "status": "withdrawn",
                "withdrawn_skus": tuple(line.sku for line in event.lines)})
        case LineUnavailable():
            return state.model_copy(
                update={"unavailable": (*state.unavailable, (event.sku, event.reply_by))})
        case UnavailabilityNotified():
            unavailable = state.unavailable if event.reply_by is None else tuple(
                (sku, event.reply_by if sku == event.sku else reply_by)
                for sku, reply_by in state.unavailable)
            return state.model_copy(update={"notified": (*state.notified, event.sku),
                                            "unavailable": unavailable})
        case OrderLineCancelled():  # an exchanged line too, its replacement unavailable
            return state.model_copy(update={
                "settled": (*state.settled, event.sku),
                "exchanged": tuple(sku for sku in state.exchanged if sku != event.sku),
                "replacements": {line: wine for line, wine in state.replacements.items()
                                 if line != event.sku},
                "refunded_cents": state.refunded_cents + (
                    event.refund_cents if event.paid_on else 0),
                "waived_cents": state.waived_cents + (0 if event.paid_on else event.refund_cents),
                "cancelled_unpaid": state.cancelled_unpaid if event.paid_on else (
                    *state.cancelled_unpaid, UnpaidCancellation(
                        sku=event.sku, quantity=event.quantity,
                        refund_cents=event.refund_cents, cause=event.cause,
                        cancelled_on=event.cancelled_on))})
        case CancelledLinePaid():
            return state.model_copy(update={
                "refunded_cents": state.refunded_cents + event.refund_cents,
                "waived_cents": max(0, state.waived_cents - event.refund_cents)})
        case LineExchanged():
            return state.model_copy(update={
                "settled": (*state.settled, event.sku),
                "exchanged": (*state.exchanged, event.sku),
                "replacements": {**state.replacements, event.sku: event.replacement_sku}})
    return state


def _contract(state: OrderState) -> Contract:
    return Contract(status=state.status, lines=state.lines,
                    delivery_charge_cents=state.delivery_charge_cents,
                    paid_cents=state.paid_cents, delivered_on=state.delivered_on,
                    overdue_deadline=state.overdue_deadline, perform_by=state.perform_by,
                    terminated_on=state.terminated_on,
                    proof_of_dispatch_on=state.proof_of_dispatch_on,
                    unavailable_lines=_manifestly_undeliverable(state),
                    settled_lines=state.settled, refunded_cents=state.refunded_cents,
                    waived_cents=state.waived_cents,
                    replacements=tuple(state.replacements.items()),
                    undelivered=tuple(sku for sku, _ in state.unavailable
                                      if sku not in state.settled))


def _manifestly_undeliverable(state: OrderState) -> bool:
    """A line could not be reserved and was not exchanged for an equivalent wine."""
    return any(sku not in state.exchanged for sku, _ in state.unavailable)


@dataclass(frozen=True)
class PersonalDataChanges:
    """The fields the buyer asks to correct; None keeps the current value."""

    email: str | None = None
    phone: str | None = None
    delivery_address: RequestedAddress | None = None


BILLING_RETENTION_YEARS = 10
"""How long billing records are kept (RULES.md § Personal data): restriction lasts as long."""


def rectified(current: PersonalData, changes: PersonalDataChanges) -> PersonalData:
    """The personal fields after the buyer's corrections, the address checked again (the date
    of birth, the declaration of age and the billing address are kept)."""
    address = changes.delivery_address or RequestedAddress(
        **current.delivery_address.model_dump())
    corrected = personal_data(changes.email or current.email,
                              changes.phone if changes.phone is not None else current.phone,
                              address)
    return corrected.model_copy(update={
        "date_of_birth": current.date_of_birth, "declared_of_age": current.declared_of_age,
        "billing_address": current.billing_address})


PERFORMED_LATER: tuple[OrderStatus, ...] = ("placed", "confirmed", "shipped")
"""Statuses of an order not performed yet (not delivered, nor ended otherwise)."""


def awaits_performance(status: str, paid: bool, lines_left: bool) -> bool:
    """Whether an order is paid and still to be performed (a line of it not cancelled, not
    delivered yet nor ended otherwise): its buyer's data is needed until then (the
    confirmation of acceptance, the delivery), so erasure waits for it."""
    return paid and lines_left and status in PERFORMED_LATER


def _lines_left(state: OrderState) -> bool:
    cancelled = set(state.settled) - set(state.exchanged)
    return any(line.sku not in cancelled for line in state.lines)


def erase(state: OrderState, command: EraseBuyerData, now: dt.datetime) -> list[Event]:
    """Erasure on one of the buyer's orders. An unpaid order is cancelled (no sale is formed
    before payment, and it could no longer be confirmed to anyone). While orders of the
    buyer's await performance, the request is recorded and the data kept for them; then the
    data is erased, whom the invoice bills ``kept`` first."""
    if awaits_performance(state.status, state.paid, _lines_left(state)) and not command.awaiting:
        raise OrderConflictError("the order is paid and still to be performed: its buyer's "
                                 "data is kept until it is")
    cancelled = ([OrderCancelled(reason="buyer_request", cancelled_at=now)]
                 if state.status == "placed" and not state.paid else [])
    if command.awaiting:
        return [*cancelled, *([] if state.erasure_requested else [BuyerDataErasureDeferred(
            buyer_id=state.buyer_id, requested_at=now, awaiting=list(command.awaiting))])]
    kept = command.kept
    retained = [] if kept is None else [BillingDataRetained(
        buyer_id=state.buyer_id, billed_to=kept.billed_to, until=kept.until)]
    return [*cancelled, *retained, BuyerDataErased(buyer_id=state.buyer_id, erased_at=now)]


def end_billing_retention(state: OrderState, today: dt.date) -> list[Event]:
    """Once the day after the retention of an erased order's billing data, its end (its key is
    destroyed with it); nothing before, or for an order that kept none."""
    until = state.billing_retained_until
    if until is None or state.billing_retention_ended or today <= until:
        return []
    return [BillingRetentionEnded(ended_on=today)]


def retention_end(placed_on: dt.date) -> dt.date:
    """The day the billing retention of an order placed on ``placed_on`` runs out."""
    try:
        return placed_on.replace(year=placed_on.year + BILLING_RETENTION_YEARS)
    except ValueError:  # 29 February → 28 February
        return placed_on.replace(year=placed_on.year + BILLING_RETENTION_YEARS, day=28)


def personal_data(email: str, phone: str | None, address: RequestedAddress) -> PersonalData:
    """The buyer's contact and delivery fields, once the delivery address passes the rules
    (Art. 12; an address in doubt passes here, ``place_order`` holds the order)."""
    return PersonalData(email=email, phone=phone, delivery_address=_delivery_address(address))


def buyer_personal_data(request: OrderRequest) -> PersonalData:
    """Every personal field of an order, to be sealed: contact, delivery address (checked),
    date of birth or declaration of age, billing address (any French address, P.O. box
    included: the invoice is mail, not a parcel)."""
    personal = personal_data(request.email, request.phone, request.delivery_address)
    return personal.model_copy(update={
        "date_of_birth": request.date_of_birth, "declared_of_age": request.declared_of_age,
        "billing_address": _billing_address(request.billing_address)})


def _billing_address(address: RequestedAddress | None) -> DeliveryAddress | None:
    if address is None:
        return None
    if address.country.upper() != "FR":
        raise InvalidOrderError("billing_address.country", "a billing address in France")
    return _address_shape(address)


def _require(state: OrderState | None) -> OrderState:
    if state is None:
        raise ValueError("event applied to an order that was never placed")
    return state


def _delivery_address(address: RequestedAddress) -> DeliveryAddress:
    if address.country.upper() != "FR":
        raise InvalidOrderError("delivery_address.country", OUTSIDE_FRANCE)
    postcode = address.postcode.strip()
    if not _POSTCODE.fullmatch(postcode) or int(postcode) not in _METROPOLITAN:
        raise InvalidOrderError("delivery_address.postcode", OUTSIDE_FRANCE)
    finding = addresses.screen(address.recipient, address.street, address.street_extra,
                               address.city)
    if finding is not None and finding.verdict == "refuse":
        raise InvalidOrderError(f"delivery_address.{finding.field}", finding.reason)
    return _address_shape(address)


def _address_shape(address: RequestedAddress) -> DeliveryAddress:
    return DeliveryAddress(recipient=address.recipient, street=address.street,
                           street_extra=address.street_extra, postcode=address.postcode,
                           city=address.city)


def _check_terms(command: PlaceOrder) -> None:
    if command.request.accepted_terms_version != command.offer.terms_version:
        raise OfferConflictError(
            "accepted_terms_version",
            f"the current terms are {command.offer.terms_version}; accept them to order")


def _check_total(request: OrderRequest, products: int, charge: int) -> None:
    """The amounts the buyer accepted (Art. 5) are those recorded: a total seen before the
    prices or the delivery charges changed is refused, with the total in force."""
    total = products + charge
    if request.accepted_total_cents is not None and request.accepted_total_cents != total:
        raise OfferConflictError(
            "accepted_total_cents",
            f"the total in force is {total} cents ({products} for the products, {charge} for "
            f"the delivery); accept it to order")


def _priced_lines(command: PlaceOrder) -> tuple[PricedLine, ...]:
    if not command.request.lines:
        raise InvalidOrderError("lines", "an order needs at least one line")
    seen: set[str] = set()
    priced = []
    for index, line in enumerate(command.request.lines):
        item = command.offer.items.get(line.sku)
        if item is None:
            raise OfferConflictError(f"lines[{index}].sku", f"unknown product {line.sku}")
        if line.sku in seen:
            raise InvalidOrderError(f"lines[{index}].sku", "the product is on two lines")
        seen.add(line.sku)
        priced.append(PricedLine(sku=line.sku, name=item.name, quantity=line.quantity,
                                 unit_price_cents=item.price_cents,
                                 line_total_cents=item.price_cents * line.quantity))
    return tuple(priced)
