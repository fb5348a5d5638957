-- The service's event store, which is also its outbox: the relay publishes rows in position order.
CREATE TABLE events (
    position     bigserial PRIMARY KEY,
    event_id     uuid        NOT NULL UNIQUE,
    order_id     text        NOT NULL,
    version      integer     NOT NULL CHECK (version >= 1),
    type         text        NOT NULL,
    envelope     jsonb       NOT NULL,
    recorded_at  timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    UNIQUE (order_id, version)
);
CREATE INDEX events_unpublished ON events (position) WHERE published_at IS NULL;

-- One row per order: the decision state folded from the order's events, with its stream version.
CREATE TABLE streams (
    order_id  text    PRIMARY KEY,
    version   integer NOT NULL,
    last_hash text    NOT NULL,
    state     jsonb   NOT NULL
);

-- Inbox: events this service's consumers have applied, so a redelivery changes nothing.
CREATE TABLE processed_events (
    consumer     text        NOT NULL,
    event_id     uuid        NOT NULL,
    topic        text        NOT NULL,
    partition    integer     NOT NULL,
    "offset"     bigint      NOT NULL,
    processed_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);

-- HTTP idempotency: the first response to a key is replayed for the same request.
CREATE TABLE idempotency_keys (
    key          text        PRIMARY KEY,
    request_hash text        NOT NULL,
    status       integer     NOT NULL,
    response     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
