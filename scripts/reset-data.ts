/** `npm run data:reset [-- --yes]`: deletes npm start's local data, after asking. */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { confirm, parseCommandLine, runCommand, UserError } from './cli.js';
import { dataHolder, DATA_DIR, heldMessage, isOrphanedPostgres, runningPostgres, shown } from './local-data.js';

const USAGE = `
Usage: npm run data:reset [-- --yes]

Deletes the local data npm start keeps in ${shown(DATA_DIR)} (MINI_DATA_DIR): the embedded
PostgreSQL with every user, product and order, the token signing keys, and the generated
admin password. The next npm start begins afresh: new admin password, demo catalog again.
Databases named by USER_/PRODUCT_/ORDER_DATABASE_URL or EVENT_BUS_URL are not touched.

Options:
  --yes       delete without asking
  -h, --help  show this
`;

// Only what npm start itself puts there: a MINI_DATA_DIR pointed at the wrong folder is never emptied.
const OURS = new Set(['postgres', 'postgres.log', 'local-credentials.json', 'demo-catalog-seeded', 'in-use.json']);

runCommand('data:reset', async () => {
  const { values } = parseCommandLine(USAGE, { yes: { type: 'boolean', short: 'y' } });
  if (!existsSync(DATA_DIR)) {
    process.stdout.write(`Nothing to reset: ${shown(DATA_DIR)} does not exist.\n`);
    return;
  }
  const holder = dataHolder();
  if (holder) throw new UserError(heldMessage(holder));
  const postgres = runningPostgres();
  if (postgres && !isOrphanedPostgres(postgres.pid)) {
    throw new UserError(`a PostgreSQL is running on ${shown(DATA_DIR)} (pid ${postgres.pid}): stop it first`);
  }
  const foreign = readdirSync(DATA_DIR).filter((entry) => !OURS.has(entry));
  if (foreign.length > 0) {
    throw new UserError(
      `${shown(DATA_DIR)} holds files npm start did not make (${foreign.slice(0, 3).join(', ')}${foreign.length > 3 ? ', ...' : ''}): not deleting it; is MINI_DATA_DIR right?`,
    );
  }
  if (!values.yes) {
    const sure = await confirm(`Delete ${shown(DATA_DIR)}: every user, product and order, the signing keys and the admin password?`, {
      refuseHint: 'add --yes to delete without asking (npm run data:reset -- --yes)',
    });
    if (!sure) {
      process.stdout.write('Nothing was deleted.\n');
      return;
    }
  }
  if (postgres) process.kill(postgres.pid, 'SIGKILL'); // left behind by a killed npm start; its data is about to go
  for (const entry of readdirSync(DATA_DIR)) rmSync(join(DATA_DIR, entry), { recursive: true, force: true });
  rmSync(DATA_DIR, { recursive: true, force: true });
  process.stdout.write(`Deleted ${shown(DATA_DIR)}. The next npm start begins afresh (new admin password, demo catalog).\n`);
});
