-- Up Migration

-- Orders and their lines. Later migrations add the outbox (events) and idempotency_keys
-- (Idempotency-Key on POST /orders) tables beside these; nothing here needs to change for them.
CREATE TABLE orders (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  user_id uuid NOT NULL,
  status text NOT NULL,
  total_cents bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT orders_status_check CHECK (status IN ('pending', 'confirmed', 'rejected', 'cancelled')),
  CONSTRAINT orders_total_cents_check CHECK (total_cents >= 0)
);

-- A user's orders, newest first; and every order, newest first (admin listing).
CREATE INDEX orders_user_id_created_at_idx ON orders (user_id, created_at DESC, id DESC);
CREATE INDEX orders_created_at_idx ON orders (created_at DESC, id DESC);

-- name and unit_price_cents are snapshots of the catalog when the order was placed.
CREATE TABLE order_items (
  order_id uuid NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
  line_no integer NOT NULL,
  product_id uuid NOT NULL,
  name text NOT NULL,
  unit_price_cents bigint NOT NULL,
  quantity integer NOT NULL,
  line_total_cents bigint NOT NULL,
  PRIMARY KEY (order_id, line_no),
  CONSTRAINT order_items_product_once UNIQUE (order_id, product_id),
  CONSTRAINT order_items_line_no_check CHECK (line_no >= 1),
  CONSTRAINT order_items_unit_price_check CHECK (unit_price_cents >= 0),
  CONSTRAINT order_items_quantity_check CHECK (quantity >= 1),
  CONSTRAINT order_items_line_total_check CHECK (line_total_cents = unit_price_cents * quantity)
);

-- Down Migration

DROP TABLE order_items;
DROP TABLE orders;
