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
 * sources into the build context, and the migrations of every service and of every other
 * workspace that has some (`hasMigrations`: @mini/shared's event tables).
 */
export function buildContextProblems(
  dockerfile: string,
  dockerignore: string,
  workspaces: readonly string[],
  deployables: readonly { workspace: string }[],
  hasMigrations: (workspace: string) => boolean = () => false,
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
  const withMigrations = new Set([
    ...deployables.map((d) => d.workspace).filter((w) => w.startsWith('services/')),
    ...workspaces.filter(hasMigrations),
  ]);
  for (const workspace of withMigrations) {
    if (!allowed.has(`${workspace}/migrations`)) problems.push(`.dockerignore: does not let ${workspace}/migrations in`);
  }
  return problems;
}

/** The public images deploy/standins/build-standins.sh builds or imports under their real names. */
export function standinImages(script: string): string[] {
  const built = [...script.matchAll(/^\s*docker build\b.*?\s-t\s+(\S+)/gm)].map((m) => m[1] as string);
  const imported = [...script.matchAll(/\bdocker import\b.*?\s-\s+(\S+)/g)].map((m) => m[1] as string);
  // Its own intermediate root filesystems are not names anyone else uses.
  return [...built, ...imported].filter((name) => !name.startsWith('mini-ecommerce-standin/'));
}

/** The images the Dockerfile starts its stages from (ARG defaults filled in, earlier stages skipped). */
export function dockerfileBaseImages(dockerfile: string): string[] {
  const args = new Map([...dockerfile.matchAll(/^ARG (\w+)=(\S+)$/gm)].map((m) => [m[1] as string, m[2] as string]));
  const stages = new Set<string>();
  const images = new Set<string>();
  for (const m of dockerfile.matchAll(/^FROM\s+(\S+)(?:\s+AS\s+(\S+))?/gim)) {
    const image = (m[1] as string).replace(
      /\$\{(\w+)\}|\$(\w+)/g,
      (_, braced?: string, bare?: string) => args.get((braced ?? bare) as string) ?? '',
    );
    if (!stages.has(image)) images.add(image);
    if (m[2]) stages.add(m[2]);
  }
  return [...images];
}

/** Images named somewhere that are neither the project's own (`prefix/...`) nor built as a stand-in. */
export function missingStandins(images: readonly (string | undefined)[], standins: readonly string[], prefix: string): string[] {
  const missing = images.filter((image): image is string => !!image && !image.startsWith(`${prefix}/`) && !standins.includes(image));
  return [...new Set(missing)].sort();
}

/**
 * The Dockerfile's `node:` base images that do not run Node.js `major` (none at all is a problem
 * too): the images must run the supported LTS, whatever Node the machine that builds them has.
 */
export function nodeImageProblems(dockerfile: string, major: number): string[] {
  const images = dockerfileBaseImages(dockerfile).filter((image) => image.startsWith('node:'));
  if (images.length === 0) return [`Dockerfile: no stage starts from a node:${major} image`];
  const wanted = new RegExp(`^node:${major}(?:[.-]|$)`);
  return images.filter((image) => !wanted.test(image)).map((image) => `Dockerfile: ${image} is not Node.js ${major}`);
}
