// The dependency rules (.dependency-cruiser.cjs) must catch what they promise: run the real config on
// a scratch tree laid out like src/ and check that each kind of violation fails with its rule's name,
// and that a tree obeying the layers passes. The real tree is checked by `npm run depcheck`.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../../src/util/repo-root.js';

const ROOT = repoRoot();
const scratchDirs: string[] = [];

/** Writes files (path -> source) under a fresh scratch repo and runs depcruise on its src/ with our config. */
function cruise(files: Record<string, string>): { ok: boolean; out: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'c2l-layers-'));
  scratchDirs.push(dir);
  writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext' } }));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileSync(path.join(dir, rel), text);
  }
  const bin = path.join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const r = spawnSync(process.execPath, [bin, 'src', '--config', path.join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'err'], {
    cwd: dir,
    encoding: 'utf8',
  });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

afterEach(() => {
  for (const d of scratchDirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const leafOk = {
  'src/util/rng.ts': 'export const seed = 1;\n',
  'src/native/index.ts': "import { seed } from '../util/rng.js';\nexport const addon = seed;\n",
  'src/tensor/index.ts': "import { addon } from '../native/index.js';\nexport const t = addon;\n",
  'src/model/llama/model.ts':
    "import { t } from '../../tensor/index.js';\nimport { st } from '../../formats/safetensors.js';\nexport const m = t + st;\n",
  'src/adapters/lora/layer.ts': "import { m } from '../../model/llama/model.js';\nexport const lora = m;\n",
  'src/adapters/hyper/head.ts': "import { lora } from '../lora/layer.js';\nexport const hyper = lora;\n",
  'src/formats/safetensors.ts': "import { seed } from '../util/rng.js';\nexport const st = seed;\n",
  'src/data/manifest.ts': 'export const manifest = 1;\n',
  'src/data/tasks/build.ts': "import { manifest } from '../manifest.js';\nexport const tasks = manifest;\n",
  'src/data/corpus/scan.ts': "import { tasks } from '../tasks/build.js';\nexport const scan = tasks;\n",
  'src/train/loop.ts':
    "import { hyper } from '../adapters/hyper/head.js';\nimport { tasks } from '../data/tasks/build.js';\nexport const train = hyper + tasks;\n",
  'src/tokenizer/tokenizer.ts': "import { seed } from '../util/rng.js';\nexport const tok = seed;\n",
  'src/retrieval/rag.ts':
    "import { tok } from '../tokenizer/tokenizer.js';\nimport { tasks } from '../data/tasks/build.js';\nexport const rag = tok + tasks;\n",
  'src/eval/run.ts':
    "import { rag } from '../retrieval/rag.js';\nimport { train } from '../train/loop.js';\nexport const ev = rag + train;\n",
  'src/cli/index.ts': "import { ev } from '../eval/run.js';\nexport const cli = ev;\n",
};

describe('dependency rules', () => {
  it('pass a tree that follows the layers (hyper over lora, leaves used from above, retrieval over leaves, data/corpus over data/tasks)', () => {
    const r = cruise(leafOk);
    expect(r.out).toContain('no dependency violations');
    expect(r.ok).toBe(true);
  });

  it('fail a backward import (model -> train)', () => {
    const r = cruise({ ...leafOk, 'src/model/llama/model.ts': "import { train } from '../../train/loop.js';\nexport const m = train;\n" });
    expect(r.ok).toBe(false);
    expect(r.out).toMatch(/layer-model: src\/model\/llama\/model\.ts → src\/train\/loop\.ts/);
  });

  it('fail lora importing the hypernetwork', () => {
    const r = cruise({
      ...leafOk,
      'src/adapters/lora/layer.ts': "import { hyper } from '../hyper/head.js';\nexport const lora = hyper;\n",
    });
    expect(r.ok).toBe(false);
    expect(r.out).toContain('layer-adapters-lora');
  });

  it('fail retrieval importing a tensor room, and a leaf importing retrieval', () => {
    const r = cruise({
      ...leafOk,
      'src/retrieval/rag.ts': "import { t } from '../tensor/index.js';\nexport const rag = t;\n",
      'src/data/tasks/build.ts':
        "import { manifest } from '../manifest.js';\nimport { rag } from '../../retrieval/rag.js';\nexport const tasks = manifest + rag;\n",
    });
    expect(r.ok).toBe(false);
    expect(r.out).toContain('tensor-free-over-leaves: src/retrieval/rag.ts → src/tensor/index.ts');
    expect(r.out).toContain('leaves-import-only-util: src/data/tasks/build.ts → src/retrieval/rag.ts');
  });

  it('fail a module cycle', () => {
    const r = cruise({
      ...leafOk,
      'src/model/llama/a.ts': "import { b } from './b.js';\nexport const a = () => b;\n",
      'src/model/llama/b.ts': "import { a } from './a.js';\nexport const b = () => a;\n",
    });
    expect(r.ok).toBe(false);
    expect(r.out).toContain('no-circular');
  });

  it('fail a folder cycle (data/tasks <-> data/corpus) and a leaf importing upwards or sideways', () => {
    const r = cruise({
      ...leafOk,
      'src/data/tasks/build.ts':
        "import { manifest } from '../manifest.js';\nimport { helper } from '../corpus/helper.js';\nexport const tasks = manifest + helper;\n",
      'src/data/corpus/helper.ts': 'export const helper = 2;\n',
      'src/formats/safetensors.ts': "import { m } from '../model/llama/model.js';\nexport const st = m;\n",
      'src/tokenizer/bpe.ts': "import { tasks } from '../data/tasks/build.js';\nexport const bpe = tasks;\n",
    });
    expect(r.ok).toBe(false);
    expect(r.out).toContain('no-circular-folders');
    expect(r.out).toContain('data-tasks: src/data/tasks/build.ts → src/data/corpus/helper.ts');
    expect(r.out).toContain('leaves-import-only-util: src/formats/safetensors.ts → src/model/llama/model.ts');
    expect(r.out).toContain('leaves-import-only-util: src/tokenizer/bpe.ts → src/data/tasks/build.ts');
  });
});
