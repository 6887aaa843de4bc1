-- Up Migration

-- Shared by every service that takes part in events; each applies it to its own database
-- (runMigrations runs these files with the service's own, in name order).

-- The transactional outbox: an event is stored in the same transaction as the change it
-- announces, so one never exists without the other. The relay publishes rows (at least once)
-- and stamps published_at; published rows are pruned after a while.
CREATE TABLE outbox (
  seq          bigserial PRIMARY KEY,
  id           uuid NOT NULL UNIQUE,
  type         text NOT NULL,
  payload      jsonb NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now(),
  published_at timestamptz
);
CREATE INDEX outbox_unpublished_idx ON outbox (seq) WHERE published_at IS NULL;
CREATE INDEX outbox_published_at_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- The inbox: the events a consumer has applied, recorded in the same transaction as the effect,
-- so a redelivered event changes nothing.
CREATE TABLE processed_events (
  consumer   text NOT NULL,
  event_id   uuid NOT NULL,
  handled_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (consumer, event_id)
);
CREATE INDEX processed_events_handled_at_idx ON processed_events (handled_at);

-- Down Migration
DROP TABLE processed_events;
DROP TABLE outbox;
