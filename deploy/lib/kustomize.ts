import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { ROOT } from './deployables.js';

/** Any rendered Kubernetes object. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

/** The kustomizations the repository ships: `kubectl apply -k <dir>` must work for each. */
export const OVERLAYS = ['k8s/overlays/dev', 'k8s/overlays/prod', 'k8s'] as const;

/** The kubectl binary, or null when none is on the PATH. */
export function findKubectl(): string | null {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore', timeout: 20_000 });
    return 'kubectl';
  } catch {
    return null;
  }
}

/** `kubectl kustomize <dir>`, parsed into objects; throws with kubectl's message when it fails. */
export function renderKustomization(dir: string): K8sObject[] {
  const output = execFileSync('kubectl', ['kustomize', join(ROOT, dir)], {
    encoding: 'utf8',
    timeout: 60_000,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return parseObjects(output);
}

/** Parses multi-document YAML into objects; a document that is not an object is an error. */
export function parseObjects(text: string): K8sObject[] {
  return parseAllDocuments(text).map((doc, index) => {
    if (doc.errors.length > 0) throw new Error(`document ${index}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS() as unknown;
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`document ${index} is not an object`);
    return value as K8sObject;
  });
}

export function describeObject(object: K8sObject): string {
  return `${object.kind}/${object.metadata?.name ?? '?'}`;
}

export function findObject<T = K8sObject>(objects: K8sObject[], kind: string, name: string): T | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name) as T | undefined;
}
