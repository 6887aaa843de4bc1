// `node --cpu-prof` for processes the bench does not spawn itself (scripts/stack.ts does, and
// NODE_OPTIONS refuses --cpu-prof): loaded with NODE_OPTIONS=--import=<this file>, it runs the
// same V8 sampling profiler from the first line of the process and writes the same
// .cpuprofile when the process exits, into MINI_CPU_PROFILE_DIR.
import { writeFileSync, mkdirSync } from 'node:fs';
import { Session } from 'node:inspector';
import { basename, join } from 'node:path';
import process from 'node:process';

const dir = process.env.MINI_CPU_PROFILE_DIR;
if (dir) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // The default --cpu-prof interval.
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  process.once('exit', () => {
    // An in-process session answers synchronously, so this completes before the process is gone.
    session.post('Profiler.stop', (error, result) => {
      if (error) return;
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${basename(process.cwd())}-${process.pid}.cpuprofile`), JSON.stringify(result.profile));
    });
  });
}
