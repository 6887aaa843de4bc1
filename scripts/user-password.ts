/** `npm run user:password -- <username>`: sets a user's password (a forgotten one, the admin's). */
import { createUserRepository } from '../services/user/src/repository.js';
import { passwordProblem } from '../services/user/src/rules.js';
import { createPasswordHasher } from '../services/user/src/security.js';
import { parseCommandLine, readNewPassword, runCommand, UserError } from './cli.js';
import { DATA_DIR, shown } from './local-data.js';
import { openUserDatabase } from './user-database.js';

const USAGE = `
Usage: npm run user:password -- <username>

Sets a new password for <username> without the old one: type it twice, or pipe it in
(echo "$PASSWORD" | npm run user:password -- admin). A signed-in user changes their own
with POST /users/me/password instead. Tokens issued before stay valid until they expire.

Works on npm start's data in ${shown(DATA_DIR)} (MINI_DATA_DIR), whether npm start runs or
not; with USER_DATABASE_URL set, on that database.

Options:
  -h, --help  show this
`;

runCommand('user:password', async () => {
  const { positionals } = parseCommandLine(USAGE, {});
  const [username, ...extra] = positionals;
  if (!username || extra.length > 0) throw new UserError('name exactly one user: npm run user:password -- <username>');
  const database = await openUserDatabase('npm run user:password');
  try {
    const users = createUserRepository(database.pool);
    const user = await users.findUserByUsername(username);
    if (!user) throw new UserError(`no user is named "${username}" in ${database.where} (names ignore case); nothing was changed`);
    const password = await readNewPassword(`New password for ${user.username}`);
    const problem = passwordProblem(password);
    if (problem) throw new UserError(`that password ${problem}; nothing was changed`);
    const passwords = await createPasswordHasher();
    await users.updatePasswordHash(user.id, await passwords.hash(password));
    process.stdout.write(`Changed the password of ${user.username} (in ${database.where}).\n`);
  } finally {
    await database.close();
  }
});
