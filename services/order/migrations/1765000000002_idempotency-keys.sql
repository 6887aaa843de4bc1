-- Up Migration

-- Idempotency-Key on POST /orders: the first answer to a (user, key) is kept and replayed byte
-- for byte to a retry with the same body; another body under the same key is a 409. Rows older
-- than 24 hours no longer count and are pruned.
CREATE TABLE idempotency_keys (
  user_id      uuid NOT NULL,
  key          text NOT NULL,
  request_hash text NOT NULL,
  status_code  integer,
  response     text,
  order_id     uuid,
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (user_id, key)
);
CREATE INDEX idempotency_keys_created_at_idx ON idempotency_keys (created_at);

-- Down Migration
DROP TABLE idempotency_keys;
