/** `npm run keys:rotate`: a new token signing key; tokens signed with the old one stay valid until they expire. */
import { createSigningKeyRepository } from '../services/user/src/repository.js';
import { createNextSigningKey, KEY_ACTIVATION_MS, KEY_RELOAD_MS } from '../services/user/src/signing-keys.js';
import { parseCommandLine, runCommand, UserError } from './cli.js';
import { DATA_DIR, shown } from './local-data.js';
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

Works on npm start's data in ${shown(DATA_DIR)} (MINI_DATA_DIR), whether npm start runs or
not; with USER_DATABASE_URL set, on that database.

Options:
  -h, --help  show this
`;

runCommand('keys:rotate', async () => {
  const { positionals } = parseCommandLine(USAGE, {});
  if (positionals.length > 0) throw new UserError('takes no arguments: npm run keys:rotate');
  const database = await openUserDatabase('npm run keys:rotate');
  try {
    const repository = createSigningKeyRepository(database.pool);
    const newest = await repository.findNewestGeneration();
    const key = await createNextSigningKey(repository, newest);
    if (!key) throw new UserError('another rotation stored a key at the same moment; nothing more to do');
    const when = database.live
      ? `the running user service publishes it now and signs with it within ${SIGN_AFTER_S} s`
      : `the user service publishes it when it starts and signs with it once it is ${KEY_ACTIVATION_MS / 1000} s old`;
    process.stdout.write(
      `Stored signing key generation ${key.generation} (kid ${key.kid}) in ${database.where}; ${when}. ` +
        `Tokens signed with the previous key stay valid until they expire.\n`,
    );
  } finally {
    await database.close();
  }
});
