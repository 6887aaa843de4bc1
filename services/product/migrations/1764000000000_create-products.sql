-- Up Migration
CREATE TABLE products (
  id          UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  name        TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description TEXT NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
  -- Money is integer cents, never binary floating point.
  price_cents BIGINT NOT NULL CHECK (price_cents >= 0),
  -- Stock reservations (order events) will decrement this; the CHECK is the last line against overselling.
  stock       INTEGER NOT NULL DEFAULT 0 CHECK (stock >= 0),
  created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
  updated_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- Lists are paged in this order.
CREATE INDEX products_created_at_id_idx ON products (created_at, id);

-- Down Migration
DROP TABLE products;
