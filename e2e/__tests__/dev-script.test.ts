import { copyFile, readFile, rename, unlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { ROOT, SERVICES, type ServiceName } from '../../scripts/stack.js';
import { freeStartPorts, npmRun, runScript, servicePid, tempDataDir, type RunningScript } from '../start-helpers.js';

// `npm run dev` itself, started through npm as a person does: its banner counts from the
// command, it reloads only the service whose file changed (edited in place, or replaced the way
// git and many editors replace a file), it keeps noticing after a replace, and Ctrl-C is quiet.
// The file it changes is the user service's rules.ts, rewritten with its own content (so
// nothing else notices but a watcher).
const data = await tempDataDir('mini-dev-');
let running: RunningScript | undefined;
const WATCHED_FILE = join(ROOT, 'services/user/src/rules.ts');

afterAll(async () => {
  await running?.interrupt();
  await data.remove();
});

const pids = (script: RunningScript) =>
  Object.fromEntries(SERVICES.map((service) => [service, servicePid(script.child.pid!, service)])) as Record<
    ServiceName,
    number | undefined
  >;

async function waitForReload(script: RunningScript, before: Record<ServiceName, number | undefined>, gateway: string) {
  const deadline = Date.now() + 45_000;
  for (;;) {
    const now = pids(script);
    if (now.user && now.user !== before.user) {
      const res = await fetch(`${gateway}/users/me`).catch(() => undefined);
      if (res?.status === 401) return now; // the new user service answers through the gateway
    }
    if (Date.now() > deadline) throw new Error(`the user service was not reloaded:\n${script.output().slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

describe('npm run dev', () => {
  test('reloads only the changed service after every kind of save, and Ctrl-C stops it quietly', async () => {
    const ports = await freeStartPorts();
    const gateway = `http://127.0.0.1:${ports.GATEWAY_PORT}`;
    const launched = Date.now();
    running = runScript(npmRun('dev'), { ...ports, MINI_DATA_DIR: data.dir });
    await running.waitFor('Stop with Ctrl-C', 180_000);
    const measured = (Date.now() - launched) / 1000;
    const banner = Number(/ready in ([\d.]+)s/.exec(running.output())?.[1]);
    // npm's own start-up is counted too.
    expect(banner).toBeGreaterThanOrEqual(measured - 0.6);
    expect(banner).toBeLessThanOrEqual(measured + 0.2);

    let before = pids(running);
    expect(Object.values(before).every(Boolean), JSON.stringify(before)).toBe(true);

    const touch = () => utimes(WATCHED_FILE, new Date(), new Date());
    const saves: [string, () => Promise<void>][] = [
      ['an edit in place', touch],
      [
        'what git checkout does (delete the file, write it anew)',
        async () => {
          const text = await readFile(WATCHED_FILE);
          await unlink(WATCHED_FILE);
          await writeFile(WATCHED_FILE, text);
        },
      ],
      // Where tsx watch, which npm run dev used before, went blind.
      ['an edit in place after that', touch],
      [
        'a save by rename (as vim and JetBrains editors do)',
        async () => {
          await copyFile(WATCHED_FILE, `${WATCHED_FILE}.dev-test~`);
          await rename(`${WATCHED_FILE}.dev-test~`, WATCHED_FILE);
        },
      ],
      ['an edit in place after that', touch],
    ];
    for (const [what, save] of saves) {
      await save();
      const after = await waitForReload(running, before, gateway).catch((error: Error) => {
        throw new Error(`${what}: ${error.message}`);
      });
      for (const other of ['product', 'order', 'gateway'] as const)
        expect(after[other], `${what}: ${other} was restarted`).toBe(before[other]);
      before = after;
    }
    expect(running.output()).toMatch(/\[dev\] services\/user\/src\/rules\.ts changed: reloading user/);

    const mark = running.output().length;
    const code = await running.interrupt();
    // npm itself ends on the terminal's SIGINT; what it ran stops on its own and says so.
    expect(code === 0 || running.child.signalCode === 'SIGINT', `exit ${code}`).toBe(true);
    const tail = running.output().slice(mark);
    expect(tail).toContain('[start] stopped');
    expect(tail).not.toMatch(/Force killing|WARN|ERROR|terminating connection/);
    running = undefined;
  }, 300_000);
});
