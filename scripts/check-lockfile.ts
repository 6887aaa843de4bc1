/**
 * `npm run lint:lockfile`: where every package in package-lock.json comes from, checked offline
 * (no advisory database or registry is asked; `npm audit` is the GitHub workflow's job).
 * - lockfile-lint with LOCKFILE_LINT_ARGS fails on a `resolved` URL that is not https, not on
 *   registry.npmjs.org (a git, tarball or other registry URL) or names another package than its
 *   entry, and on an integrity hash that is not sha512.
 * - lockfile-lint lets an entry with no `integrity` at all through (and npm then installs whatever
 *   the registry serves, unchecked): integrityProblems() fails on that.
 * npm leaves `resolved` out where it is the default registry (omit-lockfile-registry-resolved, set
 * on the machine that wrote this lockfile): such entries install from the registry the installing
 * npm is set up with, and an entry a tampered lockfile points elsewhere has a `resolved` to check.
 * Usage: tsx scripts/check-lockfile.ts [LOCKFILE, default package-lock.json]; exits 1 on a problem.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

/** The lockfile-lint flags (the CLI's own `--path LOCKFILE` goes before them). */
export const LOCKFILE_LINT_ARGS = [
  '--type',
  'npm',
  '--allowed-hosts',
  'npm',
  '--validate-https',
  '--validate-integrity',
  '--validate-package-names',
] as const;

interface LockEntry {
  version?: string;
  resolved?: string;
  integrity?: string;
  link?: boolean;
  inBundle?: boolean;
}

/**
 * Entries npm downloads (under node_modules/: not the workspaces, their links or what a package
 * bundles) that have no sha512 integrity to check the download against.
 */
export function integrityProblems(lock: { lockfileVersion?: number; packages?: Record<string, LockEntry> }): string[] {
  if (!lock.packages || (lock.lockfileVersion ?? 0) < 2) return ['lockfile: no "packages" map (lockfileVersion 2 or 3 expected)'];
  return Object.entries(lock.packages)
    .filter(([path, entry]) => path.includes('node_modules/') && !entry.link && !entry.inBundle)
    .filter(([, entry]) => !/^sha512-[A-Za-z0-9+/]{86}==$/.test(entry.integrity ?? ''))
    .map(
      ([path, entry]) =>
        `${path}@${entry.version ?? '?'}: ${entry.integrity ? `integrity ${entry.integrity} is not sha512` : 'no integrity'}`,
    );
}

/** Runs both checks on one lockfile: `ok` and what to print. */
export function checkLockfile(path: string): { ok: boolean; report: string } {
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('lockfile-lint/package.json');
  const bin = join(dirname(manifest), (require(manifest) as { bin: Record<string, string> }).bin['lockfile-lint'] as string);
  const lint = spawnSync(process.execPath, [bin, '--path', path, ...LOCKFILE_LINT_ARGS, '--format', 'plain'], { encoding: 'utf8' });
  const problems = integrityProblems(JSON.parse(readFileSync(path, 'utf8')) as Parameters<typeof integrityProblems>[0]);
  const report = [
    `lockfile-lint ${LOCKFILE_LINT_ARGS.join(' ')}: ${lint.status === 0 ? 'no issues' : `exit ${lint.status ?? lint.signal}`}`,
    ...(lint.status === 0 ? [] : [`${lint.stdout}${lint.stderr}`.trim()]),
    problems.length === 0 ? 'integrity: every downloaded package has a sha512 hash' : `integrity: ${problems.length} problem(s)`,
    ...problems.map((p) => `  ${p}`),
  ];
  return { ok: lint.status === 0 && problems.length === 0, report: report.join('\n') };
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  const path = process.argv[2] ?? 'package-lock.json';
  const { ok, report } = checkLockfile(path);
  (ok ? process.stdout : process.stderr).write(`${path}:\n${report}\n`);
  process.exit(ok ? 0 : 1);
}
