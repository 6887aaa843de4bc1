-- Up Migration
CREATE TABLE users (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  -- Kept as typed; uniqueness and login ignore case through the index below.
  username text NOT NULL CHECK (char_length(username) BETWEEN 3 AND 32),
  password_hash text NOT NULL,
  role text NOT NULL DEFAULT 'user' CHECK (role IN ('user', 'admin')),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- "Alice" and "alice" are one account: a racing second insert fails here and answers 409.
CREATE UNIQUE INDEX users_username_lower_key ON users (lower(username));

-- Serves the admin listing's stable order.
CREATE INDEX users_created_at_id_idx ON users (created_at, id);

-- Down Migration
DROP TABLE users;
