/** `npm run user:admin -- <username>`: promotes a user to admin, or creates an admin account. */
import { createUserRepository } from '../services/user/src/repository.js';
import { passwordProblem, usernameProblem } from '../services/user/src/rules.js';
import { createPasswordHasher } from '../services/user/src/security.js';
import { parseCommandLine, readNewPassword, runCommand, UserError } from './cli.js';
import { DATA_DIR, shown } from './local-data.js';
import { openUserDatabase } from './user-database.js';

const USAGE = `
Usage: npm run user:admin -- <username>

Makes <username> an admin. An existing account is promoted (it keeps its password); a new
one is created as an admin with a password you type twice (or pipe in:
echo "$PASSWORD" | npm run user:admin -- alice).

Works on npm start's data in ${shown(DATA_DIR)} (MINI_DATA_DIR), whether npm start runs or
not; with USER_DATABASE_URL set, on that database. A promoted user gets the admin role in
the tokens issued from their next sign-in. To demote an admin, use PATCH /users/:id.

Options:
  -h, --help  show this
`;

runCommand('user:admin', async () => {
  const { positionals } = parseCommandLine(USAGE, {});
  const [username, ...extra] = positionals;
  if (!username || extra.length > 0) throw new UserError('name exactly one user: npm run user:admin -- <username>');
  const database = await openUserDatabase('npm run user:admin');
  try {
    const users = createUserRepository(database.pool);
    const existing = await users.findUserByUsername(username);
    if (existing?.role === 'admin') {
      process.stdout.write(`${existing.username} is already an admin.\n`);
      return;
    }
    if (existing) {
      await users.updateRole(existing.id, 'admin');
      process.stdout.write(`${existing.username} is now an admin (in ${database.where}); they get admin rights from their next sign-in.\n`);
      return;
    }
    const nameProblem = usernameProblem(username);
    if (nameProblem) throw new UserError(`no user is named "${username}", and it cannot name a new one: it ${nameProblem}`);
    const password = await readNewPassword(`Password for the new admin ${username}`);
    const problem = passwordProblem(password);
    if (problem) throw new UserError(`that password ${problem}; nothing was changed`);
    const passwords = await createPasswordHasher();
    const created = await users.insertUserIfAbsent({ username, passwordHash: await passwords.hash(password), role: 'admin' });
    if (!created) throw new UserError(`"${username}" was just taken by someone else; run this again to promote it`);
    process.stdout.write(`Created the admin ${created.username} (in ${database.where}); sign in with POST /users/login.\n`);
  } finally {
    await database.close();
  }
});
