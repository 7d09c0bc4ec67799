-- Payments and async work (DESIGN.md "Payment webhook", "Async work").

-- Payment webhook events, stored before the 2xx. The primary key makes each
-- event_id apply once: a concurrent duplicate's insert waits for the first
-- transaction and then conflicts. outcome is what the event did.
CREATE TABLE webhook_events (
    event_id    text        PRIMARY KEY CHECK (event_id ~ '^[ -~]{1,255}$'),
    webhook_id  text        NOT NULL CHECK (octet_length(webhook_id) <= 255),
    reference   text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('success', 'failed')),
    amount      bigint      NOT NULL,
    outcome     text        NOT NULL CHECK (outcome IN ('applied', 'order_not_found', 'amount_mismatch',
                            'already_paid', 'late_payment', 'ignored')),
    order_id    uuid,
    body        bytea       NOT NULL CHECK (octet_length(body) <= 65536),
    received_at timestamptz NOT NULL
);

-- The archive job moves events by age.
CREATE INDEX webhook_events_received_at ON webhook_events (received_at);
-- Late payments wait for an operator.
CREATE INDEX webhook_events_late_payment ON webhook_events (received_at) WHERE outcome = 'late_payment';

-- Events older than 90 days, kept until 365 (event ids stay unique across
-- both tables: ApplyPayment checks here too).
CREATE TABLE webhook_events_archive (
    LIKE webhook_events INCLUDING CONSTRAINTS INCLUDING DEFAULTS,
    archived_at timestamptz NOT NULL,
    PRIMARY KEY (event_id)
);
CREATE INDEX webhook_events_archive_received_at ON webhook_events_archive (received_at);

-- The transactional outbox: a mail is inserted by the transaction whose
-- change causes it, and sent by the mailer after that commits. dedup_key
-- (engine.Mail.Key: kind and subject, e.g. order_confirmed:<order id>) makes
-- each mail queue once. status moves pending → sent after the SMTP server
-- accepted it, or pending → dead after the last attempt (a dead letter
-- then holds it; a retry puts it back to pending).
CREATE TABLE outbox (
    id              uuid        PRIMARY KEY,
    kind            text        NOT NULL,
    dedup_key       text        NOT NULL UNIQUE CHECK (octet_length(dedup_key) BETWEEN 1 AND 255),
    payload         jsonb       NOT NULL,
    status          text        NOT NULL CHECK (status IN ('pending', 'sent', 'dead')),
    attempts        int         NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL,
    locked_until    timestamptz,
    last_error      text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    sent_at         timestamptz,
    CHECK ((status = 'sent') = (sent_at IS NOT NULL))
);

-- The mailer claims due pending mails.
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

-- Work that could not be done: mails and task runs that used up their
-- attempts, messages hollywood could not deliver.
CREATE TABLE dead_letters (
    id         uuid        PRIMARY KEY,
    source     text        NOT NULL CHECK (source IN ('mail', 'task', 'actor')),
    kind       text        NOT NULL,
    ref        text        NOT NULL DEFAULT '',
    payload    jsonb       NOT NULL,
    error      text        NOT NULL,
    attempts   int         NOT NULL CHECK (attempts >= 0),
    status     text        NOT NULL CHECK (status IN ('dead', 'retried')),
    created_at timestamptz NOT NULL,
    retried_at timestamptz,
    retried_by text        NOT NULL DEFAULT '',
    CHECK ((status = 'retried') = (retried_at IS NOT NULL))
);

-- Newest first, optionally by status; the alert counts recent ones.
CREATE INDEX dead_letters_status_id ON dead_letters (status, id DESC);
CREATE INDEX dead_letters_created_at ON dead_letters (created_at);

-- Runs of scheduled tasks, one row per run key (task and slot), so that a
-- repeat or a second node does nothing twice.
CREATE TABLE task_runs (
    run_key      text        PRIMARY KEY,
    task         text        NOT NULL,
    status       text        NOT NULL CHECK (status IN ('running', 'done', 'failed')),
    attempts     int         NOT NULL CHECK (attempts >= 1),
    node         text        NOT NULL,
    started_at   timestamptz NOT NULL,
    locked_until timestamptz NOT NULL,
    finished_at  timestamptz,
    result       jsonb,
    error        text        NOT NULL DEFAULT ''
);

CREATE INDEX task_runs_task_started_at ON task_runs (task, started_at DESC);

-- Daily sales reports (engine.SalesReport), one per UTC day.
CREATE TABLE sales_reports (
    day          date        PRIMARY KEY,
    orders       bigint      NOT NULL CHECK (orders >= 0),
    paid_orders  bigint      NOT NULL CHECK (paid_orders >= 0),
    revenue      jsonb       NOT NULL,
    top_products jsonb       NOT NULL,
    created_at   timestamptz NOT NULL
);

-- Low-stock crossings alerted: a product at or under its threshold is
-- alerted once, and re-armed when it is back above.
CREATE TABLE low_stock_alerts (
    product_id uuid        PRIMARY KEY,
    stock      bigint      NOT NULL,
    threshold  bigint      NOT NULL,
    alerted_at timestamptz NOT NULL
);

-- The daily report reads one day of orders by primary key: ids are UUIDv7
-- made at created_at (engine.FirstIDAt), so no index on created_at is added
-- to the order insert path.
