-- Up Migration
-- Token signing keys, used only when JWT_PRIVATE_KEY is not set.
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  -- 1 for the first key, max + 1 for a rotated one: replicas that race to create the
  -- same generation collide here (INSERT ... ON CONFLICT DO NOTHING) and all keep one key.
  generation integer NOT NULL UNIQUE CHECK (generation > 0),
  algorithm text NOT NULL CHECK (algorithm = 'EdDSA'),
  private_jwk jsonb NOT NULL,
  public_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Down Migration
DROP TABLE signing_keys;
