import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRelative, repoRoot } from './repo-root.js';

describe('repoRelative', () => {
  it('makes paths inside the package relative (with /) and leaves others alone', () => {
    expect(repoRelative(path.join(repoRoot(), 'models', 'code2lora-base'))).toBe('models/code2lora-base');
    expect(repoRelative(repoRoot())).toBe('.');
    expect(repoRelative('/elsewhere/model')).toBe('/elsewhere/model');
  });
});
