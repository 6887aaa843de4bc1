/** `npm run keys:rotate`: a new token signing key; tokens signed with the old one stay valid until they expire. */
import { ConfigError } from '@mini/shared';
import { decodeKeyEncryptionKey, keyEncryptionKeyProblem } from '../services/user/src/key-encryption.js';
import { createSigningKeyRepository } from '../services/user/src/repository.js';
import { createNextSigningKey, KEY_ACTIVATION_MS, KEY_RELOAD_MS, unlockStoredKeys } from '../services/user/src/signing-keys.js';
import { parseCommandLine, runCommand, UserError } from './cli.js';
import { CREDENTIALS_FILE, DATA_DIR, ensureCredentials, shown } from './local-data.js';
import { openUserDatabase } from './user-database.js';

const SIGN_AFTER_S = (KEY_ACTIVATION_MS + KEY_RELOAD_MS) / 1000;

const USAGE = `
Usage: npm run keys:rotate

Stores a new token signing key (the next key generation) in the user service's database.
Running user services publish it in the JWKS (/.well-known/jwks.json) within ${KEY_RELOAD_MS / 1000} s and sign
with it ${SIGN_AFTER_S} s after it was stored (by then every service can fetch it), each replica on its
own, without a restart. The JWKS keeps serving the previous key, so tokens signed before
stay valid until they expire (TOKEN_TTL_SECONDS, 1 h by default). Not for JWT_PRIVATE_KEY
deployments: there, set a new key and restart.

The private key is stored encrypted with the key-encryption key the user service runs with:
SIGNING_KEY_ENCRYPTION_KEY when set, else the one npm start generated in ${shown(CREDENTIALS_FILE)}.
A key that does not decrypt the keys stored already is refused, and nothing is written.

Works on npm start's data in ${shown(DATA_DIR)} (MINI_DATA_DIR), whether npm start runs or
not; with USER_DATABASE_URL set (and SIGNING_KEY_ENCRYPTION_KEY), on that database.

Options:
  -h, --help  show this
`;

runCommand('keys:rotate', async () => {
  const { positionals } = parseCommandLine(USAGE, {});
  if (positionals.length > 0) throw new UserError('takes no arguments: npm run keys:rotate');
  const fromEnv = process.env.SIGNING_KEY_ENCRYPTION_KEY;
  const problem = fromEnv ? keyEncryptionKeyProblem(fromEnv) : null;
  if (problem) throw new UserError(`SIGNING_KEY_ENCRYPTION_KEY ${problem}`);
  if (!fromEnv && process.env.USER_DATABASE_URL) {
    throw new UserError('with USER_DATABASE_URL, set SIGNING_KEY_ENCRYPTION_KEY too: the key-encryption key that user service runs with');
  }
  const database = await openUserDatabase('npm run keys:rotate');
  try {
    // npm start's own key (an install from before encryption gets one now, as its next start would).
    const kek = decodeKeyEncryptionKey(fromEnv || ensureCredentials().signingKeyEncryptionKey);
    const source = fromEnv ? 'SIGNING_KEY_ENCRYPTION_KEY' : shown(CREDENTIALS_FILE);
    const repository = createSigningKeyRepository(database.pool);
    const inClear = (await repository.findSigningKeys()).filter((key) => key.encryptedPrivateJwk === null).length;
    try {
      await unlockStoredKeys(repository, kek);
    } catch (error) {
      if (error instanceof ConfigError) throw new UserError(`${error.message} (the key came from ${source})`);
      throw error;
    }
    const newest = await repository.findNewestGeneration();
    const key = await createNextSigningKey(repository, kek, newest);
    if (!key) throw new UserError('another rotation stored a key at the same moment; nothing more to do');
    const when = database.live
      ? `the running user service publishes it now and signs with it within ${SIGN_AFTER_S} s`
      : `the user service publishes it when it starts and signs with it once it is ${KEY_ACTIVATION_MS / 1000} s old`;
    const upgraded = inClear > 0 ? ` Encrypted the ${inClear} key(s) an earlier version stored in the clear.` : '';
    process.stdout.write(
      `Stored signing key generation ${key.generation} (kid ${key.kid}) in ${database.where}, encrypted with the key from ${source}; ${when}. ` +
        `Tokens signed with the previous key stay valid until they expire.${upgraded}\n`,
    );
  } finally {
    await database.close();
  }
});
