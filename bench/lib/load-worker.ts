/**
 * One measured load, in its own process so the bench's bookkeeping (reading the stack's logs,
 * sampling memory) never steals time from the load generator:
 *
 *   node --import tsx bench/lib/load-worker.ts <spec.json>
 *
 * Runs autocannon for `warmupSeconds` (discarded), then for `seconds`, and prints one JSON line.
 * Requests rotate over `variants` (a path, and optionally method, headers and body each).
 */
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';
import type { LoadResult, LoadSpec } from './load.js';

const spec = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as LoadSpec;

function run(seconds: number): Promise<autocannon.Result> {
  let next = 0;
  return autocannon({
    url: spec.origin,
    connections: spec.connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        setupRequest: (request) => {
          const variant = spec.variants[next++ % spec.variants.length]!;
          return { ...request, method: variant.method ?? 'GET', path: variant.path, headers: variant.headers ?? {}, body: variant.body };
        },
      },
    ],
  });
}

if (spec.warmupSeconds > 0) await run(spec.warmupSeconds);
const startedAt = new Date().toISOString();
const cpuBefore = process.cpuUsage();
const result = await run(spec.seconds);
const cpu = process.cpuUsage(cpuBefore);
const output: LoadResult = {
  startedAt,
  seconds: result.duration,
  requests: result.requests.total,
  rps: result.requests.total / result.duration,
  p50: result.latency.p50,
  p99: result.latency.p99,
  max: result.latency.max,
  errors: result.errors,
  timeouts: result.timeouts,
  non2xx: result.non2xx,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
};
process.stdout.write(`${JSON.stringify(output)}\n`);
