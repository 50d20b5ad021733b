// Where the shipped hypernetwork lives: models/code2lora-hyper/ in the package (hyper.json +
// head.safetensors), next to the base model it was trained for.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../../util/repo-root.js';

export const DEFAULT_HYPER_NAME = 'code2lora-hyper';

export function defaultHyperDir(): string {
  return join(repoRoot(), 'models', DEFAULT_HYPER_NAME);
}

/** The hypernetwork directory to use: the flag when given, else the shipped default (with a clear error). */
export function resolveHyperDir(flag?: string): string {
  const dir = flag ?? defaultHyperDir();
  if (!existsSync(join(dir, 'hyper.json'))) {
    throw new Error(
      flag
        ? `no hypernetwork at ${dir} (hyper.json missing)`
        : `the default hypernetwork ${dir} is missing; train one with \`code2lora hyper train\` or pass --hyper DIR`,
    );
  }
  return dir;
}
