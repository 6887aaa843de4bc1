-- Up Migration
-- The private key, encrypted with SIGNING_KEY_ENCRYPTION_KEY (format in src/key-encryption.ts).
-- Rows stored before hold private_jwk in the clear: the service (or npm run keys:rotate) encrypts
-- them the first time it runs with the key set and clears private_jwk. Each row holds exactly one.
ALTER TABLE signing_keys
  ADD COLUMN private_jwk_encrypted text,
  ALTER COLUMN private_jwk DROP NOT NULL,
  ADD CONSTRAINT signing_keys_one_private_key CHECK ((private_jwk IS NULL) <> (private_jwk_encrypted IS NULL));

-- Down Migration
-- SQL cannot decrypt: this fails while a key is stored encrypted only. Delete those rows first
-- (the service then creates a fresh key; tokens signed with the deleted ones stop verifying).
ALTER TABLE signing_keys DROP CONSTRAINT signing_keys_one_private_key;
ALTER TABLE signing_keys ALTER COLUMN private_jwk SET NOT NULL;
ALTER TABLE signing_keys DROP COLUMN private_jwk_encrypted;
