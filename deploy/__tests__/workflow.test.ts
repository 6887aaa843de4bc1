import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { readRepoFile } from '../lib/deployables.js';

// The GitHub workflow the project's users run (.github/workflows/ci.yml), checked here without
// GitHub: action-validator (the `npx action-validator FILE` CLI) against the workflow schema,
// then what it must do.
interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}
interface Job {
  'runs-on': string;
  'timeout-minutes'?: number;
  strategy?: { matrix?: { node?: unknown[] } };
  steps: Step[];
}
interface Workflow {
  on: Record<string, unknown>;
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

const PATH = '.github/workflows/ci.yml';
const require = createRequire(import.meta.url);
const semver = require('semver') as { intersects(a: string, b: string): boolean };
const validatorManifest = require.resolve('@action-validator/cli/package.json');
const validatorBin = join(
  dirname(validatorManifest),
  (require(validatorManifest) as { bin: Record<string, string> }).bin['action-validator'] as string,
);
const text = readRepoFile(PATH);
const workflow = parse(text) as Workflow;
const scratch = mkdtempSync(join(tmpdir(), 'workflow-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** action-validator on a file: its exit code and what it printed. */
async function validate(file: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [validatorBin, file], { encoding: 'utf8' });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const { code, stdout, stderr } = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof code === 'number' ? code : -1, output: `${stdout ?? ''}${stderr ?? ''}` };
  }
}
function brokenCopy(name: string, from: string | RegExp, to: string): string {
  const broken = text.replace(from, to);
  if (broken === text) throw new Error(`${PATH}: "${String(from)}" not found`);
  const file = join(scratch, `${name}.yml`);
  writeFileSync(file, broken);
  return file;
}

// The three validator runs at once (about a second each).
let results: Record<'real' | 'unknownKey' | 'unknownEvent', { code: number; output: string }>;
beforeAll(async () => {
  const [real, unknownKey, unknownEvent] = await Promise.all([
    validate(join(import.meta.dirname, '../..', PATH)),
    validate(brokenCopy('unknown-key', /^( {4})timeout-minutes:/m, '$1timeout-minute:')),
    validate(brokenCopy('unknown-event', /^ {2}pull_request:$/m, '  pull_reqest:')),
  ]);
  results = { real, unknownKey, unknownEvent };
});

const steps = () => Object.values(workflow.jobs).flatMap((job) => job.steps);
const runs = () => steps().flatMap((step) => (step.run ? [step.run] : []));

describe('the GitHub workflow (.github/workflows/ci.yml)', () => {
  test('action-validator finds nothing wrong with it', () => {
    expect(results.real.output).toBe('');
    expect(results.real.code).toBe(0);
  });

  test("it runs .ci/run, the build machine's entry point (npm ci ... npm test), on Node 20 and Node 24, which engines admit", () => {
    const [name, job] = Object.entries(workflow.jobs).find(([, j]) => j.steps.some((s) => /^(bash )?\.ci\/run$/.test(s.run ?? ''))) ?? [];
    expect(name, 'a job whose step runs .ci/run').toBeDefined();
    const nodes = job?.strategy?.matrix?.node;
    expect(nodes).toEqual([20, 24]);
    const setup = job?.steps.find((s) => s.uses?.startsWith('actions/setup-node@'));
    expect(setup?.with?.['node-version']).toBe('${{ matrix.node }}');
    // setup-node comes before .ci/run, and the checkout before both.
    const order = job?.steps.map((s) => (s.uses?.replace(/@.*/, '') ?? s.run) as string) ?? [];
    expect(order.indexOf('actions/checkout')).toBe(0);
    expect(order.indexOf('actions/setup-node')).toBeLessThan(order.findIndex((s) => /\.ci\/run$/.test(s)));
    const engines = (JSON.parse(readRepoFile('package.json')) as { engines: { node: string } }).engines.node;
    for (const node of nodes ?? [])
      expect(semver.intersects(`${String(node)}.x`, engines), `Node ${String(node)} in ${engines}`).toBe(true);
    // .ci/run's exit-code guard asks for the machine's own PostgreSQL on 127.0.0.1:5432.
    expect(readRepoFile('.ci/run')).toContain('TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres');
    expect(text).toMatch(/^ {8}image: postgres:\S+$/m);
    expect(text).toMatch(/^ {10}- 5432:5432$/m);
  });

  test('it audits the production dependencies: npm audit --omit=dev --audit-level=high', () => {
    expect(runs()).toContain('npm audit --omit=dev --audit-level=high');
  });

  test('least privilege and bounded: read-only token, no persisted credentials, a timeout on every job, actions pinned to a commit', () => {
    expect(workflow.permissions).toEqual({ contents: 'read' });
    for (const [name, job] of Object.entries(workflow.jobs)) {
      expect(job['timeout-minutes'], name).toBeGreaterThan(0);
      expect(job['timeout-minutes'], name).toBeLessThanOrEqual(60);
    }
    const uses = steps().flatMap((s) => (s.uses ? [s.uses] : []));
    expect(uses.length).toBeGreaterThanOrEqual(4);
    for (const use of uses) expect(use).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40}$/);
    // ...each with the version it is, for the reader and for update tools.
    for (const line of text.split('\n').filter((l) => /^\s*- uses: /.test(l))) expect(line).toMatch(/@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    for (const step of steps().filter((s) => s.uses?.startsWith('actions/checkout@')))
      expect(step.with?.['persist-credentials']).toBe(false);
  });
});

describe('the workflow check catches breakage', () => {
  test('when a job key is misspelt, then action-validator fails and names it', () => {
    expect(results.unknownKey.code).toBe(1);
    expect(results.unknownKey.output).toContain("Additional property 'timeout-minute' is not allowed");
  });

  test('when an event does not exist, then action-validator fails and names it', () => {
    expect(results.unknownEvent.code).toBe(1);
    expect(results.unknownEvent.output).toContain("Additional property 'pull_reqest' is not allowed");
  });
});
