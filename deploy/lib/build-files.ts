/** What scripts/images.sh builds: the image prefix and tag it defaults to, and one line per deployable. */
export interface ImagesScript {
  prefix: string;
  tag: string;
  images: { name: string; workspace: string; port: number }[];
}

/** Reads scripts/images.sh: `IMAGE_PREFIX`/`IMAGE_TAG` defaults and the `DEPLOYABLES` lines. */
export function parseImagesScript(text: string): ImagesScript {
  const prefix = /IMAGE_PREFIX="\$\{IMAGE_PREFIX:-([^}]+)\}"/.exec(text)?.[1];
  const tag = /IMAGE_TAG="\$\{IMAGE_TAG:-([^}]+)\}"/.exec(text)?.[1];
  const block = /DEPLOYABLES=\(([\s\S]*?)\n\)/.exec(text)?.[1];
  if (!prefix || !tag || block === undefined) throw new Error('scripts/images.sh: IMAGE_PREFIX, IMAGE_TAG or DEPLOYABLES not found');
  const images = [...block.matchAll(/^\s*"([^"]+)"\s*$/gm)].map((m) => {
    const [name, workspace, port, ...rest] = (m[1] as string).split(/\s+/);
    if (!name || !workspace || !port || rest.length > 0 || !/^\d+$/.test(port))
      throw new Error(`scripts/images.sh: bad DEPLOYABLES line "${m[1]}"`);
    return { name, workspace, port: Number(port) };
  });
  return { prefix, tag, images };
}

/** `http://127.0.0.1:' + process.env.PORT + '/readyz'` in the Dockerfile's HEALTHCHECK: the path it asks for. */
export function healthcheckPath(dockerfile: string): string | undefined {
  const line = /^HEALTHCHECK[\s\S]*?CMD (\[.*\])$/m.exec(dockerfile)?.[1];
  if (!line) return undefined;
  const command = (JSON.parse(line) as string[]).join(' ');
  if (!command.includes('process.env.PORT')) return undefined;
  return /'(\/[^']*)'/.exec(command)?.[1];
}

/**
 * The Dockerfile installs from each workspace's package.json (both install stages must list every
 * workspace or `npm ci` fails on the lockfile), and .dockerignore must let each workspace's
 * sources into the build context.
 */
export function buildContextProblems(
  dockerfile: string,
  dockerignore: string,
  workspaces: readonly string[],
  deployables: readonly { workspace: string }[],
): string[] {
  const problems: string[] = [];
  const stages = dockerfile.split(/^FROM /m).slice(1);
  const installStages = stages.filter((stage) => /npm ci/.test(stage));
  if (installStages.length < 2) problems.push('Dockerfile: expected a build stage and a production-dependencies stage that run npm ci');
  for (const stage of installStages) {
    const name = /^\S+(?: AS (\S+))?/.exec(stage)?.[1] ?? stage.slice(0, 20);
    for (const workspace of workspaces) {
      if (!stage.includes(`COPY ${workspace}/package.json ${workspace}/`))
        problems.push(`Dockerfile stage ${name}: does not copy ${workspace}/package.json`);
    }
  }
  const allowed = new Set(
    dockerignore
      .split('\n')
      .filter((l) => l.startsWith('!'))
      .map((l) => l.slice(1).trim()),
  );
  for (const workspace of workspaces) {
    for (const file of ['package.json', 'tsconfig.json', 'src']) {
      if (!allowed.has(`${workspace}/${file}`)) problems.push(`.dockerignore: does not let ${workspace}/${file} into the build context`);
    }
  }
  for (const { workspace } of deployables) {
    if (workspace.startsWith('services/') && !allowed.has(`${workspace}/migrations`))
      problems.push(`.dockerignore: does not let ${workspace}/migrations in`);
  }
  return problems;
}
