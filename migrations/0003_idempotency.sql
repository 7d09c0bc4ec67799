-- Idempotency-Key records for POST /orders/ (engine/idempotency.go).
-- One row per (user, key). An attempt holds an in_flight row until
-- locked_until (its lease); it then stores its response (done) or deletes
-- the row. A claim that finds an in_flight row past its lease takes it over
-- (attempt and locked_until change). Rows are kept until expires_at
-- (created_at + TTL, 24 h by default) and then purged in batches.

CREATE TABLE idempotency_keys (
    user_id      uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key          text        NOT NULL CHECK (key ~ '^[ -~]{1,255}$'),
    fingerprint  bytea       NOT NULL CHECK (octet_length(fingerprint) = 32),
    state        text        NOT NULL CHECK (state IN ('in_flight', 'done')),
    -- The id of the resource the holding attempt creates (the order id).
    attempt      uuid        NOT NULL,
    locked_until timestamptz NOT NULL,
    status       int         CHECK (status BETWEEN 100 AND 599),
    body         bytea       CHECK (octet_length(body) <= 65536),
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    PRIMARY KEY (user_id, key),
    -- A response is stored exactly when the row is done.
    CONSTRAINT idempotency_keys_response_check CHECK (
        (state = 'done') = (status IS NOT NULL AND body IS NOT NULL)
        AND (status IS NULL) = (body IS NULL)),
    CONSTRAINT idempotency_keys_expires_at_check CHECK (expires_at > created_at)
);

-- The purge job deletes rows past expires_at, oldest first.
CREATE INDEX idempotency_keys_expires_at ON idempotency_keys (expires_at);
