import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { ROOT } from '../../scripts/stack.js';
import { STACK_FRAME } from '../start-helpers.js';

// Compose and Kubernetes commands on a machine without what they need: one line saying what
// to do, never a Python traceback or a kubectl talking to npm start's own gateway.
let scratch: string;
beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'mini-deploy-'));
});
afterAll(() => rm(scratch, { recursive: true, force: true }));

function npmRun(script: string, env: Record<string, string>, args: string[] = []) {
  const result = spawnSync('npm', ['run', '--silent', script, ...(args.length ? ['--', ...args] : [])], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, lines: result.stderr.trim().split('\n') };
}

const hasCompose = spawnSync('docker', ['compose', 'version']).status === 0 || spawnSync('docker-compose', ['version']).status === 0;
const hasKubectl = spawnSync('kubectl', ['version', '--client']).status === 0;

describe.runIf(hasCompose)('compose commands with no Docker engine', () => {
  // A socket nobody listens on: no engine, whatever this machine runs.
  const noEngine = () => ({ DOCKER_HOST: `unix://${join(scratch, 'no-docker.sock')}` });

  test.each([
    ['compose:down', {}],
    ['compose:up', { SKIP_BUILD: '1' }],
    ['compose:logs', {}],
  ])('npm run %s says in one line that no engine answers, and writes no .env', (script, extra) => {
    const hadEnv = existsSync(join(ROOT, '.env'));
    const result = npmRun(script, { ...noEngine(), ...extra });
    expect(result.status).not.toBe(0);
    expect(result.lines).toEqual([expect.stringMatching(/^No Docker engine answers at DOCKER_HOST=unix:.*: start Docker/)]);
    expect(result.stderr).not.toMatch(/Traceback/);
    expect(result.stderr).not.toMatch(STACK_FRAME);
    if (!hadEnv) expect(existsSync(join(ROOT, '.env'))).toBe(false);
  });
});

describe.runIf(hasKubectl)('npm run k8s:apply', () => {
  test('with no cluster context, it says so in one line instead of letting kubectl talk to localhost:8080', async () => {
    const kubeconfig = join(scratch, 'empty-kubeconfig');
    await writeFile(kubeconfig, 'apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\nusers: []\n');
    const result = npmRun('k8s:apply', { KUBECONFIG: kubeconfig });
    expect(result.status).toBe(1);
    expect(result.lines).toEqual([expect.stringMatching(/^k8s:apply: kubectl has no cluster context.*kind create cluster/)]);
    expect(result.stdout).not.toContain('Applying');
  });

  test('an unknown overlay is named', () => {
    const result = npmRun('k8s:apply', {}, ['staging']);
    expect(result.status).toBe(1);
    expect(result.lines).toEqual([expect.stringMatching(/no overlay "staging" in k8s\/overlays: use dev or prod/)]);
  });
});
