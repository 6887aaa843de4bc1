/**
 * `npm run k8s:apply -- [dev|prod] [kubectl apply flags]`: `kubectl apply -k k8s/overlays/<overlay>`
 * once kubectl has a cluster to talk to. Without a current context kubectl falls back to
 * http://localhost:8080, which is npm start's own gateway: it is refused here with one line instead.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseCommandLine, runCommand, UserError } from './cli.js';
import { ROOT } from './stack.js';

const USAGE = `
Usage: npm run k8s:apply -- [dev|prod] [more kubectl apply flags, e.g. --dry-run=server]

Applies k8s/overlays/<overlay> (default dev) with kubectl, after checking that kubectl has
a cluster context (kind create cluster, minikube start, or kubectl config use-context NAME).
prod needs its Secret first: see docs/deploy.md.

Options:
  -h, --help  show this
`;

runCommand('k8s:apply', async () => {
  // Everything after the overlay goes to kubectl as it is.
  const [first, ...rest] = process.argv.slice(2);
  if (first === '--help' || first === '-h') parseCommandLine(USAGE, {});
  const overlay = first && !first.startsWith('-') ? first : 'dev';
  const flags = first && !first.startsWith('-') ? rest : process.argv.slice(2);
  const dir = join(ROOT, 'k8s/overlays', overlay);
  if (!existsSync(dir)) throw new UserError(`there is no overlay "${overlay}" in k8s/overlays: use dev or prod`);

  const context = spawnSync('kubectl', ['config', 'current-context'], { encoding: 'utf8' });
  if (context.error)
    throw new UserError('kubectl is not installed: install it (https://kubernetes.io/docs/tasks/tools/), then run this again');
  const name = context.stdout.trim();
  if (context.status !== 0 || !name) {
    throw new UserError(
      "kubectl has no cluster context, so it would talk to localhost:8080 (npm start's gateway): create or choose a cluster first " +
        '(kind create cluster, minikube start, or kubectl config use-context NAME)',
    );
  }
  process.stdout.write(`Applying k8s/overlays/${overlay} to the cluster of context "${name}"\n`);
  const apply = spawnSync('kubectl', ['apply', '-k', dir, ...flags], { stdio: 'inherit' });
  return apply.status ?? 1;
});
