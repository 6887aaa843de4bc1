import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort } from '../../testing/postgres.js';

/** The nats-server binary on the PATH, or where Debian's package puts it (/usr/sbin, often not on a user's PATH). */
export function findNatsServer(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'nats-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface PrivateNats {
  url: string;
  stop(): Promise<void>;
}

/**
 * A nats-server of this test's own: JetStream with its store in a fresh temporary folder, on a
 * free loopback port, reading `config` (and `env`, for the `$VAR`s it references). Gone on stop().
 */
export async function startPrivateNats(binary: string, config: string, env: Record<string, string>): Promise<PrivateNats> {
  const store = await mkdtemp(join(tmpdir(), 'nats-permissions-'));
  const port = await freePort();
  const child = spawn(binary, ['--config', config, '-a', '127.0.0.1', '-p', String(port), '--jetstream', '--store_dir', store], {
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nats-server did not get ready within 10 s:\n${output}`)), 10_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Server is ready')) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`nats-server exited (${code}) before it was ready:\n${output}`));
      });
    });
  } catch (error) {
    child.kill('SIGKILL');
    await rm(store, { recursive: true, force: true });
    throw error;
  }
  return {
    url: `nats://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(store, { recursive: true, force: true });
    },
  };
}
