import { createRequire } from 'node:module';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './deployables.js';
import { describeObject, type K8sObject } from './kustomize.js';

const require = createRequire(import.meta.url);

interface ModelClass {
  new (data: unknown): { validate(): void };
}

/** `kubernetes-models/<group>/<version>/<Kind>`; core objects live under `v1`. */
function modelPath(object: K8sObject): string {
  return `kubernetes-models/${object.apiVersion}/${object.kind}`;
}

/**
 * Validates each object against the Kubernetes OpenAPI schema compiled into `kubernetes-models`
 * (types, required fields, enums). That schema does not reject unknown fields, so
 * `unknownFieldProblems` checks those separately.
 */
export function schemaProblems(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const object of objects) {
    let Model: ModelClass | undefined;
    try {
      Model = (require(modelPath(object)) as Record<string, ModelClass>)[object.kind];
    } catch {
      Model = undefined;
    }
    if (!Model) {
      problems.push(`${describeObject(object)}: no Kubernetes schema for ${object.apiVersion} ${object.kind}`);
      continue;
    }
    try {
      new Model(object).validate();
    } catch (error) {
      problems.push(`${describeObject(object)}: ${(error as Error).message}`);
    }
  }
  return problems;
}

const VIRTUAL_FILE = join(ROOT, 'deploy', '__rendered_objects__.ts');

/**
 * Unknown (misspelt, misplaced or made-up) fields, found by TypeScript's excess property check:
 * each object becomes an object literal typed with its `kubernetes-models` interface, which lists
 * exactly the fields of the Kubernetes schema. Reports the first unknown field of each object.
 */
export function unknownFieldProblems(objects: K8sObject[]): string[] {
  const known = objects.filter((object) => {
    try {
      require.resolve(modelPath(object));
      return true;
    } catch {
      return false; // schemaProblems reports those
    }
  });
  const lines: string[] = [];
  const owners: { start: number; object: K8sObject }[] = [];
  known.forEach((object, index) => {
    lines.push(`import type { I${object.kind} as T${index} } from '${modelPath(object)}';`);
  });
  known.forEach((object, index) => {
    owners.push({ start: lines.length, object });
    lines.push(...`export const o${index}: T${index} = ${JSON.stringify(object, null, 1)};`.split('\n'));
  });
  const text = lines.join('\n');

  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.ESNext,
    moduleResolution: ts.ModuleResolutionKind.Bundler,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (file, language, ...rest) =>
    file === VIRTUAL_FILE ? ts.createSourceFile(file, text, language) : getSourceFile(file, language, ...rest);
  host.fileExists = (file) => file === VIRTUAL_FILE || fileExists(file);
  const program = ts.createProgram([VIRTUAL_FILE], options, host);
  const source = program.getSourceFile(VIRTUAL_FILE);
  if (!source) throw new Error('the rendered objects could not be type-checked');

  return program.getSemanticDiagnostics(source).map((diagnostic) => {
    const line = diagnostic.start === undefined ? 0 : source.getLineAndCharacterOfPosition(diagnostic.start).line;
    const owner = [...owners].reverse().find((o) => o.start <= line);
    const where = owner ? describeObject(owner.object) : 'imports';
    return `${where}: ${ts.flattenDiagnosticMessageText(diagnostic.messageText, ' ')}`;
  });
}
