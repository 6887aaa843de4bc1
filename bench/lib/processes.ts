import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** A process the bench watches: its memory and CPU are part of every result. */
export interface Watched {
  name: string;
  pid: number;
}

const REFERENCE = fileURLToPath(new URL('../reference/reference-stack.ts', import.meta.url));
const BARE = fileURLToPath(new URL('../reference/bare-http.ts', import.meta.url));

/** Starts one process of the reference stack (or the bare calibration server) and waits for its port. */
export async function startReference(
  role: 'gateway' | 'product' | 'order' | 'bare',
  port: number,
  env: Record<string, string>,
): Promise<ChildProcess> {
  const script = role === 'bare' ? [BARE] : [REFERENCE, role];
  const child = spawn(process.execPath, ['--import', 'tsx', ...script], {
    env: { ...process.env, ...env, PORT: String(port), NODE_ENV: 'production' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`reference ${role} exited with ${child.exitCode}`);
    try {
      const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(1_000) });
      await response.body?.cancel();
      // The bare server answers every path; the others have /healthz.
      if (response.ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`reference ${role} did not start on ${port}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Resident memory of `pid` in MB, or undefined once it is gone. */
export function rssMb(pid: number): number | undefined {
  try {
    const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

const TICKS_PER_SECOND = 100;

/** CPU seconds `pid` has used so far (user + system). */
export function cpuSeconds(pid: number): number {
  try {
    // Fields after the command name (which may hold spaces) start at "state": utime and stime are the 12th and 13th.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return 0;
  }
}

/** The postmaster and every backend under it: PostgreSQL's share of the CPU is counted as one. */
export function postgresPids(postmasterPid: number): number[] {
  const pids = [postmasterPid];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === postmasterPid) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

export interface Usage {
  /** Highest resident memory seen per process, MB. */
  peakRssMb: Record<string, number>;
  /** CPU seconds used per process (and `postgres`) over the run, warm-up included. */
  cpuSeconds: Record<string, number>;
  /** How long the run took, warm-up included: cpuSeconds / wallSeconds is the cores a process kept busy. */
  wallSeconds: number;
}

/**
 * Samples every watched process every 200 ms while `work` runs: peak resident memory and the
 * CPU each used. `extraCpu` names groups (PostgreSQL) measured only for CPU.
 */
export async function watchWhile<T>(
  watched: Watched[],
  extraCpu: Record<string, () => number[]>,
  work: () => Promise<T>,
): Promise<{ result: T; usage: Usage }> {
  const peakRssMb: Record<string, number> = {};
  const sample = () => {
    for (const { name, pid } of watched) {
      const rss = rssMb(pid);
      if (rss !== undefined) peakRssMb[name] = Math.max(peakRssMb[name] ?? 0, rss);
    }
  };
  const cpuBefore = new Map(watched.map(({ name, pid }) => [name, cpuSeconds(pid)]));
  // Backends opened during the run were not there before: all their CPU is the run's.
  const groupsBefore = Object.entries(extraCpu).map(([name, pids]) => ({
    name,
    pids,
    before: new Map(pids().map((pid) => [pid, cpuSeconds(pid)])),
  }));
  sample();
  const started = performance.now();
  const timer = setInterval(sample, 200);
  try {
    const result = await work();
    const cpu: Record<string, number> = {};
    for (const { name, pid } of watched) cpu[name] = cpuSeconds(pid) - (cpuBefore.get(name) ?? 0);
    for (const group of groupsBefore) {
      cpu[group.name] = group.pids().reduce((sum, pid) => sum + cpuSeconds(pid) - (group.before.get(pid) ?? 0), 0);
    }
    return { result, usage: { peakRssMb, cpuSeconds: cpu, wallSeconds: (performance.now() - started) / 1000 } };
  } finally {
    clearInterval(timer);
  }
}
