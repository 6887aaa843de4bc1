import { mkdir, mkdtemp, rename, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { isWatchedFile, servicesOf, watchSources, type SourceWatcher } from '../dev-watch.js';
import type { ServiceName } from '../stack.js';

// npm run dev must see every change, whatever wrote it: an editor saving in place, one saving
// by rename (vim, JetBrains), or git checkout (which deletes a file and writes it anew), and
// keep seeing the next change after each of those. A temporary tree with the repository's shape.
let root: string;
let watcher: SourceWatcher;
const seen: { services: ServiceName[]; files: string[] }[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mini-watch-'));
  for (const dir of ['services/user/src/__tests__', 'services/product/src', 'packages/shared/src'])
    await mkdir(join(root, dir), { recursive: true });
  await writeFile(join(root, 'services/user/src/routes.ts'), 'export const a = 1;\n');
  await writeFile(join(root, 'services/product/src/rules.ts'), 'export const b = 1;\n');
  await writeFile(join(root, 'packages/shared/src/app.ts'), 'export const c = 1;\n');
  watcher = watchSources({
    root,
    dirs: ['services/user/src', 'services/product/src', 'packages/shared/src'],
    settleMs: 100,
    onChange: (services, files) => seen.push({ services, files }),
  });
  await watcher.ready;
});

afterAll(async () => {
  await watcher?.close();
  await rm(root, { recursive: true, force: true });
});

/** Runs `change`, then waits for the one reload it must cause (or fails after 5 s). */
async function reloadAfter(change: () => Promise<void>) {
  const before = seen.length;
  await change();
  const deadline = Date.now() + 5_000;
  while (seen.length === before) {
    if (Date.now() > deadline) throw new Error('the change was not noticed');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more for this one change
  expect(seen.length - before).toBe(1);
  return seen.at(-1)!;
}

async function nothingAfter(change: () => Promise<void>) {
  const before = seen.length;
  await change();
  await new Promise((resolve) => setTimeout(resolve, 600));
  expect(seen.slice(before)).toEqual([]);
}

const file = (path: string) => join(root, path);

describe('watchSources', () => {
  test('an edit in place reloads only the service it belongs to', async () => {
    const change = await reloadAfter(() => writeFile(file('services/user/src/routes.ts'), 'export const a = 2;\n'));
    expect(change).toEqual({ services: ['user'], files: ['services/user/src/routes.ts'] });
  });

  test('a save by rename (write a temporary file, rename it over) is one change, and the next edit is still seen', async () => {
    const change = await reloadAfter(async () => {
      await writeFile(file('services/user/src/routes.ts.tmp~'), 'export const a = 3;\n');
      await rename(file('services/user/src/routes.ts.tmp~'), file('services/user/src/routes.ts'));
    });
    expect(change.services).toEqual(['user']);
    expect(change.files).toContain('services/user/src/routes.ts');
    await reloadAfter(() => writeFile(file('services/user/src/routes.ts'), 'export const a = 4;\n'));
  });

  test('what git checkout does (delete the file, write it anew) is seen, and so is every edit after it', async () => {
    for (let round = 0; round < 3; round++) {
      const change = await reloadAfter(async () => {
        await unlink(file('services/product/src/rules.ts'));
        await writeFile(file('services/product/src/rules.ts'), `export const b = ${round};\n`);
      });
      expect(change.services).toEqual(['product']);
      await reloadAfter(() => writeFile(file('services/product/src/rules.ts'), `export const b = ${round + 10};\n`));
    }
  });

  test('a new file reloads its service; a change in packages/shared reloads every service', async () => {
    expect((await reloadAfter(() => writeFile(file('services/product/src/new-rule.ts'), 'export {};\n'))).services).toEqual(['product']);
    expect((await reloadAfter(() => writeFile(file('packages/shared/src/app.ts'), 'export const c = 2;\n'))).services).toEqual([
      'user',
      'product',
      'order',
      'gateway',
    ]);
  });

  test('tests, editor swap files and dotfiles reload nothing', async () => {
    await nothingAfter(async () => {
      await writeFile(file('services/user/src/__tests__/routes.test.ts'), 'export {};\n');
      await writeFile(file('services/user/src/.routes.ts.swp'), 'x');
      await writeFile(file('services/user/src/4913'), '');
    });
  });
});

describe('which service a file belongs to', () => {
  test.each([
    ['services/order/src/service.ts', ['order']],
    ['services/order/migrations/1_x.sql', ['order']],
    ['gateway/src/proxy.ts', ['gateway']],
    ['packages/shared/migrations/1_outbox.sql', ['product', 'order']],
    ['packages/shared/src/db.ts', ['user', 'product', 'order', 'gateway']],
    ['scripts/start.ts', []],
  ])('%s -> %j', (path, services) => {
    expect(servicesOf(join('/repo', path), '/repo')).toEqual(services);
  });

  test.each([
    ['services/user/src/app.ts', true],
    ['services/user/migrations/1_users.sql', true],
    ['services/user/src/__tests__/app.test.ts', false],
    ['services/user/src/.app.ts.swp', false],
    ['services/user/src/app.ts~', false],
    ['services/user/dist/app.js', false],
    ['services/user/src/types.d.ts', false],
  ])('%s is watched: %s', (path, watched) => {
    expect(isWatchedFile(path)).toBe(watched);
  });
});
