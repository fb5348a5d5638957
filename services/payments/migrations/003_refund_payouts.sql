-- Read model of refund payouts: each refund's latest attempt on the order and the bank's
-- answer to it. Rebuildable from payments.events; the payout worker's work list is the rows
-- still 'ordered'.
CREATE TABLE refund_payout_view (
    order_id       text        NOT NULL,
    refund_id      text        NOT NULL,
    version        integer     NOT NULL,
    attempt        integer     NOT NULL,
    amount_cents   integer     NOT NULL DEFAULT 0,
    status         text        NOT NULL,
    code           text,
    reason         text,
    bank_reference text,
    paid_on        date,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (order_id, refund_id)
);
CREATE INDEX refund_payout_view_ordered ON refund_payout_view (updated_at)
    WHERE status = 'ordered';
