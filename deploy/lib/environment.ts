import type { IContainer } from 'kubernetes-models/v1/Container';
import { findObject, type K8sObject } from './kustomize.js';

/**
 * One environment variable as a container would see it. `value` is the real value, or undefined
 * when it comes from an object this render does not hold (the prod Secret the operator creates).
 * `symbol` always exists: secret values are replaced by `secret.<name>.<key>`, so two places can
 * be compared ("same password key") without knowing the password.
 */
export interface EnvValue {
  value: string | undefined;
  symbol: string;
}

export type Environment = Map<string, EnvValue>;

export function literalEnvironment(values: Record<string, string>): Environment {
  return new Map(Object.entries(values).map(([name, value]) => [name, { value, symbol: value }]));
}

function dataOf(object: K8sObject): Record<string, string> {
  const data: Record<string, string> = {};
  const plain = (object.data ?? {}) as Record<string, string>;
  for (const [key, value] of Object.entries(plain))
    data[key] = object.kind === 'Secret' ? Buffer.from(value, 'base64').toString('utf8') : value;
  Object.assign(data, (object.stringData ?? {}) as Record<string, string>);
  return data;
}

/**
 * The environment of a container: `base` (the image's ENV), then envFrom, then env, with
 * `$(VAR)` references expanded the way the kubelet does. Keys missing from rendered ConfigMaps
 * or Secrets are problems: the pod would not start.
 */
export function containerEnvironment(
  container: IContainer,
  objects: K8sObject[],
  base: Environment = new Map(),
): { env: Environment; problems: string[] } {
  const env: Environment = new Map(base);
  const problems: string[] = [];
  const where = `container ${container.name}`;

  for (const source of container.envFrom ?? []) {
    const ref = source.configMapRef ?? source.secretRef;
    const kind = source.configMapRef ? 'ConfigMap' : 'Secret';
    if (!ref?.name) continue;
    const object = findObject(objects, kind, ref.name);
    if (!object) {
      if (!ref.optional) problems.push(`${where}: envFrom ${kind} ${ref.name} is not part of the render, so its keys cannot be checked`);
      continue;
    }
    for (const [key, value] of Object.entries(dataOf(object))) {
      const name = `${source.prefix ?? ''}${key}`;
      env.set(name, kind === 'Secret' ? { value, symbol: `secret.${ref.name}.${key}` } : { value, symbol: value });
    }
  }

  for (const variable of container.env ?? []) {
    if (variable.value !== undefined || !variable.valueFrom) {
      let known = true;
      const expand = (pick: (v: EnvValue) => string | undefined) =>
        (variable.value ?? '').replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (match, name: string) => {
          const referenced = env.get(name);
          if (!referenced) return match; // the kubelet leaves unknown references as they are
          const value = pick(referenced);
          if (value === undefined) known = false;
          return value ?? match;
        });
      const symbol = expand((v) => v.symbol);
      const value = expand((v) => v.value);
      env.set(variable.name, { value: known ? value : undefined, symbol });
      continue;
    }
    const ref = variable.valueFrom.configMapKeyRef ?? variable.valueFrom.secretKeyRef;
    const kind = variable.valueFrom.configMapKeyRef ? 'ConfigMap' : variable.valueFrom.secretKeyRef ? 'Secret' : undefined;
    if (!ref || !kind) {
      env.set(variable.name, { value: undefined, symbol: `field.${variable.name}` });
      continue;
    }
    const symbol = kind === 'Secret' ? `secret.${ref.name}.${ref.key}` : `configmap.${ref.name}.${ref.key}`;
    const object = findObject(objects, kind, ref.name ?? '');
    if (!object) {
      env.set(variable.name, { value: undefined, symbol });
      continue;
    }
    const data = dataOf(object);
    if (!(ref.key in data)) {
      if (!ref.optional) problems.push(`${where}: ${variable.name} reads key ${ref.key} that ${kind} ${ref.name} does not have`);
      continue;
    }
    env.set(variable.name, { value: data[ref.key], symbol });
  }
  return { env, problems };
}

/** Names in `required` that the environment does not set at all. */
export function missingVariables(required: string[], env: Environment): string[] {
  return required.filter((name) => !env.has(name));
}

/** The plain values, when every one is known (else undefined: some come from outside the render). */
export function knownValues(env: Environment): Record<string, string> | undefined {
  const values: Record<string, string> = {};
  for (const [name, entry] of env) {
    if (entry.value === undefined) return undefined;
    values[name] = entry.value;
  }
  return values;
}
