-- Up Migration

-- A catalog page must cost the same at 1,000 and 1,000,000 products (GET /products):
--  * the page itself walks products_created_at_id_idx (created_at, id), from the start or from a
--    keyset cursor, and stops after `limit` rows;
--  * `q` (a case-insensitive substring of the name) is answered by a trigram index instead of
--    reading every name;
--  * `total` of the whole catalog is kept here, exact, by statement-level triggers, instead of
--    counting every row per page. Product writes are admin edits, rare: that every insert or
--    delete takes this one row's lock until its commit costs nothing that matters. Stock
--    reservations only UPDATE products, which no trigger here watches.

-- pg_trgm is a trusted extension (PostgreSQL 13+): the database owner may create it.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX products_name_trgm_idx ON products USING gin (name gin_trgm_ops) WITH (gin_pending_list_limit = 256);

-- No insert or delete may slip between the first count and the triggers that keep it.
LOCK TABLE products IN SHARE ROW EXCLUSIVE MODE;

CREATE TABLE product_count (
  one_row boolean PRIMARY KEY DEFAULT true CHECK (one_row),
  n       bigint NOT NULL CHECK (n >= 0)
);
INSERT INTO product_count (n) SELECT count(*) FROM products;

CREATE FUNCTION product_count_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE product_count SET n = n + (SELECT count(*) FROM added_rows);
  RETURN NULL;
END $$;

CREATE FUNCTION product_count_remove() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE product_count SET n = n - (SELECT count(*) FROM removed_rows);
  RETURN NULL;
END $$;

CREATE FUNCTION product_count_reset() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  UPDATE product_count SET n = 0;
  RETURN NULL;
END $$;

-- Once per statement, not per row: seeding 100,000 products in one INSERT updates the count once.
CREATE TRIGGER products_count_insert AFTER INSERT ON products
  REFERENCING NEW TABLE AS added_rows FOR EACH STATEMENT EXECUTE FUNCTION product_count_add();
CREATE TRIGGER products_count_delete AFTER DELETE ON products
  REFERENCING OLD TABLE AS removed_rows FOR EACH STATEMENT EXECUTE FUNCTION product_count_remove();
CREATE TRIGGER products_count_truncate AFTER TRUNCATE ON products
  FOR EACH STATEMENT EXECUTE FUNCTION product_count_reset();

-- Down Migration
DROP TRIGGER products_count_truncate ON products;
DROP TRIGGER products_count_delete ON products;
DROP TRIGGER products_count_insert ON products;
DROP FUNCTION product_count_reset();
DROP FUNCTION product_count_remove();
DROP FUNCTION product_count_add();
DROP TABLE product_count;
DROP INDEX products_name_trgm_idx;
