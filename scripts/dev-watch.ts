/**
 * `npm run dev`'s eyes: which service a changed file belongs to. chokidar watches the folders
 * (not single files), so an editor's save-by-rename, a `git checkout` that deletes and writes a
 * file anew, or a new file are all seen, where a watch on the file itself goes blind after the
 * first replace. Changes are gathered for a moment, so one save or one checkout is one reload.
 */
import { existsSync } from 'node:fs';
import { relative, sep } from 'node:path';
import { watch } from 'chokidar';
import { FOLDERS, ROOT, SERVICES, type ServiceName } from './stack.js';

/** The folders each service runs from; a change in packages/shared reloads every service. */
export const WATCHED: { dir: string; services: ServiceName[] }[] = [
  { dir: 'packages/shared/src', services: [...SERVICES] },
  // The outbox and inbox tables: only the services with events run these.
  { dir: 'packages/shared/migrations', services: ['product', 'order'] },
  ...SERVICES.flatMap((service) => [
    { dir: `${FOLDERS[service]}/src`, services: [service] },
    { dir: `${FOLDERS[service]}/migrations`, services: [service] },
  ]),
];

const SOURCE_FILE = /\.(ts|mts|cts|js|mjs|cjs|json|sql)$/;

/** True for what a service loads: sources, JSON and migrations, never tests, editor swap files or dotfiles. */
export function isWatchedFile(path: string): boolean {
  const parts = path.split(/[\\/]/);
  const name = parts.at(-1) ?? '';
  if (parts.some((part) => part === '__tests__' || part === 'node_modules' || part === 'dist' || (part.startsWith('.') && part.length > 1)))
    return false;
  return SOURCE_FILE.test(name) && !name.endsWith('.d.ts');
}

/** The services that `file` (absolute, or relative to `root`) belongs to; empty when none. */
export function servicesOf(file: string, root = ROOT): ServiceName[] {
  const path = relative(root, file).split(sep).join('/');
  return WATCHED.find(({ dir }) => path.startsWith(`${dir}/`))?.services ?? [];
}

export interface SourceWatcher {
  /** Resolves once the initial scan is done: changes from then on are reported. */
  ready: Promise<void>;
  close(): Promise<void>;
}

/**
 * Calls `onChange` with the services to reload and the files that changed, `settleMs` after
 * the last change of a burst.
 */
export function watchSources({
  root = ROOT,
  dirs = WATCHED.map(({ dir }) => dir).filter((dir) => existsSync(`${ROOT}/${dir}`)),
  settleMs = 150,
  onChange,
}: {
  root?: string;
  dirs?: string[];
  settleMs?: number;
  onChange: (services: ServiceName[], files: string[]) => void;
}): SourceWatcher {
  const watcher = watch(
    dirs.map((dir) => `${root}/${dir}`),
    {
      ignoreInitial: true,
      // Save-by-rename (vim, JetBrains, git) shows as one change instead of a delete and an add.
      atomic: true,
      ignored: (path, stats) => Boolean(stats?.isFile()) && !isWatchedFile(relative(root, path)),
    },
  );
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    const files = [...pending];
    pending = new Set();
    const services = SERVICES.filter((service) => files.some((file) => servicesOf(file, root).includes(service)));
    if (services.length > 0)
      onChange(
        services,
        files.map((file) => relative(root, file)),
      );
  };
  const changed = (path: string) => {
    if (!isWatchedFile(relative(root, path))) return;
    pending.add(path);
    clearTimeout(timer);
    timer = setTimeout(flush, settleMs);
  };
  watcher.on('add', changed).on('change', changed).on('unlink', changed);
  // A watcher error (too many files, a folder gone) must not end npm run dev; the next change still counts.
  watcher.on('error', (error) => process.stderr.write(`[dev] watching the sources: ${(error as Error).message}\n`));
  return {
    ready: new Promise((resolve) => watcher.once('ready', () => resolve())),
    async close() {
      clearTimeout(timer);
      await watcher.close();
    },
  };
}
