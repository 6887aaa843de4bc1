import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ROOT } from '../../scripts/stack.js';

// `npm install` must not open with an EBADENGINE warning on the Node version the README names:
// every package the lockfile installs accepts the oldest Node that `engines` allows.
const semver = createRequire(import.meta.url)('semver') as {
  minVersion(range: string): { version: string } | null;
  satisfies(version: string, range: string): boolean;
};
const root = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } };
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string; engines?: { node?: string } | string[]; optional?: boolean }>;
};

describe('engines', () => {
  test('every package in the lockfile accepts the oldest Node that package.json allows (and the README names it)', () => {
    const oldest = semver.minVersion(root.engines.node)!.version;
    const refusing = Object.entries(lock.packages)
      .filter(
        ([path, entry]) => path && !Array.isArray(entry.engines) && entry.engines?.node && !semver.satisfies(oldest, entry.engines.node),
      )
      .map(
        ([path, entry]) =>
          `${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${(entry.engines as { node: string }).node}`,
      );
    expect(refusing, `with Node ${oldest}`).toEqual([]);
    const [major, minor] = oldest.split('.');
    expect(readFileSync(join(ROOT, 'README.md'), 'utf8')).toContain(`Node.js ${major}.${minor}+`);
  });
});
