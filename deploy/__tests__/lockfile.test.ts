import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkLockfile, integrityProblems } from '../../scripts/check-lockfile.js';
import { readRepoFile } from '../lib/deployables.js';

type Lock = { lockfileVersion: number; packages: Record<string, { version?: string; resolved?: string; integrity?: string }> };
const lock = JSON.parse(readRepoFile('package-lock.json')) as Lock;
const scratch = mkdtempSync(join(tmpdir(), 'lockfile-check-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the lockfile with `change` applied to the entries named, written to the scratch folder. */
function tampered(name: string, change: (entry: Lock['packages'][string], pkg: string) => void, ...paths: string[]): string {
  const copy = structuredClone(lock);
  for (const path of paths) {
    const entry = copy.packages[path];
    if (!entry) throw new Error(`${path} is not in package-lock.json`);
    change(entry, path.replace(/^.*node_modules\//, ''));
  }
  const file = join(scratch, `${name}.json`);
  writeFileSync(file, JSON.stringify(copy, null, 2));
  return file;
}
const tarball = (pkg: string, version = '1.0.0', base = 'https://registry.npmjs.org') =>
  `${base}/${pkg}/-/${pkg.replace(/^@[^/]+\//, '')}-${version}.tgz`;

describe('package-lock.json (npm run lint:lockfile)', () => {
  test('every package comes from registry.npmjs.org over https with a sha512 integrity', () => {
    const { ok, report } = checkLockfile(join(import.meta.dirname, '../../package-lock.json'));
    expect(report).toContain('no issues');
    expect(ok, report).toBe(true);
  });

  test("the README's test command runs the check: npm test runs npm run lint:lockfile, which is scripts/check-lockfile.ts", () => {
    const scripts = (JSON.parse(readRepoFile('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['lint:lockfile']).toBe('tsx scripts/check-lockfile.ts');
    expect(scripts.test).toContain('npm run lint:lockfile');
  });
});

describe('the lockfile check catches tampering', () => {
  test('when entries resolve over http, from another host, from git, or to another package, or hash with sha1, then each is named', () => {
    const file = tampered(
      'tampered',
      (entry, pkg) => {
        if (pkg === 'fastify') entry.resolved = tarball(pkg, entry.version, 'http://registry.npmjs.org');
        if (pkg === 'pino') entry.resolved = tarball(pkg, entry.version, 'https://npm.evil.example');
        if (pkg === 'pg') entry.resolved = 'git+ssh://git@github.com/evil/pg.git#0123456789abcdef';
        if (pkg === 'envalid') entry.resolved = tarball('envalid-evil');
        if (pkg === 'yaml') entry.integrity = 'sha1-2jmj7l5rSw0yVb/vlWAYkK/YBwk=';
      },
      'node_modules/fastify',
      'node_modules/pino',
      'node_modules/pg',
      'node_modules/envalid',
      'node_modules/yaml',
    );
    const { ok, report } = checkLockfile(file);
    expect(ok).toBe(false);
    expect(report).toMatch(/invalid protocol for package: fastify@[\s\S]*?expected: https:\s+actual: http:/);
    expect(report).toMatch(/invalid host\(s\) for package: pino@[\s\S]*?expected: registry\.npmjs\.org\s+actual: npm\.evil\.example/);
    expect(report).toMatch(/invalid host\(s\) for package: pg@[\s\S]*?actual: github\.com/);
    expect(report).toMatch(/different name: envalid\s+expected: envalid\s+actual: envalid-evil/);
    expect(report).toMatch(/invalid integrity hash type for package: yaml@/);
    expect(report).toContain('node_modules/yaml@');
  });

  test('when an entry has no integrity (which lockfile-lint alone lets through), then it is named', () => {
    const file = tampered('no-integrity', (entry) => delete entry.integrity, 'node_modules/fastify');
    const { ok, report } = checkLockfile(file);
    expect(report).toMatch(/^lockfile-lint .*: no issues$/m);
    expect(ok).toBe(false);
    expect(report).toContain(`node_modules/fastify@${lock.packages['node_modules/fastify']?.version}: no integrity`);
  });

  test('when the registry URL is spelled out, as npm writes it by default, then the lockfile still passes', () => {
    const file = tampered(
      'resolved',
      (entry, pkg) => (entry.resolved = tarball(pkg, entry.version)),
      'node_modules/fastify',
      'node_modules/@fastify/ajv-compiler',
      'node_modules/@fastify/ajv-compiler/node_modules/ajv',
    );
    expect(checkLockfile(file)).toMatchObject({ ok: true });
  });

  test('when entries are workspaces or their links, then no integrity is asked of them; a lockfile without a packages map is a problem', () => {
    expect(
      integrityProblems({ lockfileVersion: 3, packages: { '': {}, gateway: {}, 'node_modules/@mini/gateway': { link: true } } }),
    ).toEqual([]);
    expect(integrityProblems({ lockfileVersion: 1 })).toEqual(['lockfile: no "packages" map (lockfileVersion 2 or 3 expected)']);
  });
});
