import { createApp, createLogger } from '@mini/shared';
import { healthcheckPath, parseImagesScript, type ImagesScript } from './build-files.js';
import { loadCompose, parseDotEnv, withFreshSecrets, type ComposeFile } from './compose-file.js';
import { DEPLOYABLES, loadServiceConfig, readRepoFile } from './deployables.js';
import type { DeployableFacts } from './k8s-checks.js';

export interface RepoFacts {
  images: ImagesScript;
  deployables: DeployableFacts[];
  /** .env.example as committed (its secrets marked dev-only). */
  dotEnv: Record<string, string>;
  /** The .env the compose scripts make from it: fresh secrets in place of the dev-only ones. */
  composeEnv: Record<string, string>;
  compose: ComposeFile;
  composeText: string;
  dockerfile: string;
  healthcheckPath: string | undefined;
  /** The GET routes every process has because it is built on createApp. */
  serves: (path: string) => boolean;
  rootVersion: string;
}

/** Reads what the checks compare: the code (configSchema, createApp's routes) and the deployment files. */
export async function loadRepoFacts(): Promise<RepoFacts> {
  const images = parseImagesScript(readRepoFile('scripts/images.sh'));
  // Probe paths are checked against what createApp really registers, not against a list here.
  const app = await createApp({ serviceName: 'deploy-checks', logger: createLogger('deploy-checks', { level: 'silent' }) });
  await app.ready();
  const serves = (path: string) => app.hasRoute({ method: 'GET', url: path });
  const deployables = await Promise.all(
    DEPLOYABLES.map(async (deployable) => {
      const image = images.images.find((i) => i.name === deployable.name);
      if (!image) throw new Error(`scripts/images.sh does not build ${deployable.name}`);
      return { deployable, config: await loadServiceConfig(deployable.workspace), imagePort: image.port, serves };
    }),
  );
  const dotEnvText = readRepoFile('.env.example');
  const dotEnv = parseDotEnv(dotEnvText);
  const composeEnv = parseDotEnv(withFreshSecrets(dotEnvText));
  const composeText = readRepoFile('compose.yaml');
  const dockerfile = readRepoFile('Dockerfile');
  const rootVersion = (JSON.parse(readRepoFile('package.json')) as { version: string }).version;
  return {
    images,
    deployables,
    dotEnv,
    composeEnv,
    compose: loadCompose(composeText, composeEnv),
    composeText,
    dockerfile,
    healthcheckPath: healthcheckPath(dockerfile),
    serves,
    rootVersion,
  };
}
