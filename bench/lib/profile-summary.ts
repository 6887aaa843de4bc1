import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Where a package's or our own code's time goes, by file: `fastify/lib/reply.js`, `gateway/dist/proxy.js`. */
function placeOf(url: string): string {
  if (!url) return '(native / V8)';
  const path = url.replace(/^file:\/\//, '');
  const inModules = path.lastIndexOf('node_modules/');
  if (inModules >= 0) return path.slice(inModules + 'node_modules/'.length);
  if (path.startsWith('node:')) return path;
  return path.replace(/^.*?\/(gateway|services|packages)\//, '$1/');
}

/**
 * A Markdown summary of the `node --cpu-prof` profiles in `dir`: per process, the share of
 * samples by function (self time), the top 15.
 */
export async function summarizeProfiles(dir: string): Promise<string> {
  const lines = ['## CPU profiles (V8 sampling profiler, as node --cpu-prof; self time)', ''];
  let files: string[] = [];
  try {
    files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile'));
  } catch {
    return `${lines.join('\n')}No profiles were written to ${dir}.\n`;
  }
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Profile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    const self = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, index) => {
      const node = byId.get(id);
      const delta = profile.timeDeltas[index] ?? 0;
      if (!node) return;
      const { functionName, url, lineNumber } = node.callFrame;
      const key = `${functionName || '(anonymous)'} ${placeOf(url)}${url ? `:${lineNumber + 1}` : ''}`;
      self.set(key, (self.get(key) ?? 0) + delta);
      total += delta;
    });
    const idle = [...self].filter(([key]) => key.startsWith('(idle)')).reduce((sum, [, us]) => sum + us, 0);
    const busy = total - idle;
    const main = [...self].find(([key]) => /dist\/main\.js/.test(key))?.[0] ?? '';
    lines.push(
      `### ${file}${main ? ` (${main})` : ''}`,
      '',
      `busy ${(busy / 1e6).toFixed(1)} s of ${(total / 1e6).toFixed(1)} s sampled`,
      '',
    );
    lines.push('| self % of busy | function |', '| --: | --- |');
    for (const [key, us] of [...self]
      .filter(([key]) => !key.startsWith('(idle)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)) {
      lines.push(`| ${((100 * us) / busy).toFixed(1)} | \`${key}\` |`);
    }
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}
