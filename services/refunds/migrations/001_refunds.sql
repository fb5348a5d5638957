-- Read model of refunds, projected in the recording transaction; rebuildable from
-- refunds.events. The current delay and surcharge are computed when asked (they change
-- with the date); what is stored is what the log recorded.
CREATE TABLE refund_view (
    refund_id           text        PRIMARY KEY,
    order_id            text        NOT NULL,
    version             integer     NOT NULL,
    situation           text        NOT NULL,
    base_cents          integer     NOT NULL,
    products_cents      integer     NOT NULL,
    deadline            date        NOT NULL,
    rule                text        NOT NULL,
    cause_type          text        NOT NULL,
    cause_event_id      text        NOT NULL,
    owed_since          date        NOT NULL,
    notice_on           date,
    payout              text,                    -- 'pending', 'refused' or null
    attempts            integer     NOT NULL DEFAULT 0,
    last_refusal        text,
    paid_on             date,
    paid_delay_days     integer,
    paid_schedule       text,
    paid_tier           text,
    paid_surcharge_cents integer,
    paid_total_cents    integer,
    paid_policy_version text,
    paid_provisional    boolean     NOT NULL DEFAULT false,
    paid_missing        text[]      NOT NULL DEFAULT '{}',
    bank_reference      text,
    -- half-years whose rate some figure of the refund lacked: a recorded rate settles them
    missing_half_years  text[]      NOT NULL DEFAULT '{}',
    last_escalated_on   date,
    updated_at          timestamptz NOT NULL
);
CREATE INDEX refund_view_order ON refund_view (order_id);
CREATE INDEX refund_view_unpaid ON refund_view (deadline) WHERE paid_on IS NULL;

CREATE TABLE refund_escalation_view (
    refund_id           text        NOT NULL,
    escalated_on        date        NOT NULL,
    delay_days          integer     NOT NULL,
    schedule            text,
    tier                text        NOT NULL,
    rate                text        NOT NULL,
    surcharge_cents     integer     NOT NULL,
    total_cents         integer     NOT NULL,
    policy_version      text        NOT NULL,
    provisional         boolean     NOT NULL,
    missing_half_years  text[]      NOT NULL,
    recorded_at         timestamptz NOT NULL,
    corrected_from_cents integer,
    PRIMARY KEY (refund_id, escalated_on)
);

CREATE TABLE legal_interest_rate_view (
    half_year           text        PRIMARY KEY,
    percent             text        NOT NULL,
    source              text        NOT NULL,
    recorded_at         timestamptz NOT NULL
);
