import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** One request shape the load rotates over. */
export interface Variant {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadSpec {
  origin: string;
  connections: number;
  seconds: number;
  warmupSeconds: number;
  variants: Variant[];
}

/** What one load measured: throughput, latency in ms, and everything that was not a 2xx. */
export interface LoadResult {
  startedAt: string;
  seconds: number;
  requests: number;
  rps: number;
  p50: number;
  p99: number;
  max: number;
  /** Connection errors (refused, reset). */
  errors: number;
  timeouts: number;
  non2xx: number;
  /** CPU the load generator itself used while measuring. */
  cpuSeconds: number;
}

const WORKER = fileURLToPath(new URL('./load-worker.ts', import.meta.url));
const specDir = mkdtempSync(join(tmpdir(), 'mini-bench-load-'));
let specs = 0;

/** Runs one load in a child process (autocannon) and resolves with what it measured. */
export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const file = join(specDir, `spec-${++specs}.json`);
  writeFileSync(file, JSON.stringify(spec));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', WORKER, file], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => {
      if (code !== 0) return reject(new Error(`load generator exited with ${code}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').at(-1)!) as LoadResult);
      } catch (error) {
        reject(new Error(`load generator printed no result: ${String(error)}`));
      }
    });
  });
}
