-- Up Migration

-- Why a rejected order was rejected, as the product service said it:
-- { "code": "out_of_stock", "lines": [...] } or { "code": "product_unavailable", "productIds": [...] }.
ALTER TABLE orders ADD COLUMN reason jsonb;

-- Down Migration
ALTER TABLE orders DROP COLUMN reason;
