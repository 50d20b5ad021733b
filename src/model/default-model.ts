// Where the shipped base model lives: models/code2lora-base/ in the package (a Hugging Face directory).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util/repo-root.js';

export const DEFAULT_MODEL_NAME = 'code2lora-base';

export function defaultModelDir(): string {
  return join(repoRoot(), 'models', DEFAULT_MODEL_NAME);
}

/** The model directory to use: the flag when given, else the shipped default (with a clear error). */
export function resolveModelDir(flag?: string): string {
  const dir = flag ?? defaultModelDir();
  if (!existsSync(join(dir, 'config.json'))) {
    throw new Error(
      flag
        ? `no Hugging Face model at ${dir} (config.json missing)`
        : `the default model ${dir} is missing; train one with \`code2lora pretrain\` or pass --model DIR`,
    );
  }
  return dir;
}
