-- Up Migration

-- One row per order the product service has heard of, so every event about an order is applied
-- once and in any order: `reserved` holds stock for its lines, `rejected` never did, `released`
-- gave it back, `cancelled` is a cancellation that arrived before the order itself (a later
-- order.placed for it then reserves nothing).
CREATE TABLE stock_reservations (
  order_id   uuid PRIMARY KEY,
  status     text NOT NULL CHECK (status IN ('reserved', 'rejected', 'released', 'cancelled')),
  -- [{ "productId": ..., "quantity": ... }], one entry per product, summed over the order's lines.
  lines      jsonb NOT NULL DEFAULT '[]',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE stock_reservations;
