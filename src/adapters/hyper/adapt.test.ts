// adapt as a library: the PEFT directory it writes (every layer, read back by LoraAdapter.loadPeft,
// same logits as the in-memory adapter), the provenance record, the cache on re-adaptation, and bad
// input (hypernetwork for another base, damaged head, a non-adapter --out folder).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeTinyBench } from '../../../test/fixtures/tiny-bench.js';
import { makeTinyHyper, makeTinyModel } from '../../../test/fixtures/tiny-hyper.js';
import { readSafetensors } from '../../formats/safetensors.js';
import { LoraAdapter } from '../lora/layer.js';
import { PEFT_WEIGHTS_FILE, peftTensorName } from '../lora/peft.js';
import { adaptRepository, loadHyperStack, writeAdapterDir } from './adapt.js';
import { sha256Hex } from './hash.js';
import { modelFileSha256 } from './hypernet.js';
import { filesContentSha256, PROVENANCE_FILE, readProvenance } from './provenance.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-adapt-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bench = makeTinyBench(join(root, 'bench'));
const modelDir = makeTinyModel(join(root, 'model'), bench.modelDir);
const hyperDir = join(root, 'hyper');
makeTinyHyper(hyperDir, modelDir);
const stack = loadHyperStack({ modelDir, hyperDir });

const code = (k: number) =>
  `def f_${k}(x):\n    y = x * ${k}\n    return y + ${k}\n\n\nclass C${k}:\n    def m(self):\n        return f_${k}(${k}) - ${k}\n`;

function repo(name: string, files: Record<string, string | Buffer>): string {
  const dir = join(root, 'repos', name);
  mkdirSync(dir, { recursive: true });
  for (const [rel, body] of Object.entries(files)) {
    mkdirSync(join(dir, rel, '..'), { recursive: true });
    writeFileSync(join(dir, rel), body);
  }
  return dir;
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.name=t', '-c', 'user.email=t@e', '-c', 'commit.gpgsign=false', '-c', 'init.defaultBranch=main', '-C', cwd, ...args],
    { encoding: 'utf8' },
  ).trim();
}

describe('adapt: PEFT directory + provenance', () => {
  it("writes every layer's tensors; loadPeft reads them back and gives the in-memory adapter's logits exactly", async () => {
    const dir = repo('pkg', { 'pkg/a.py': code(1), 'pkg/b.py': code(2), 'tests/test_a.py': 'def test_a():\n    assert 1 == 1\n' });
    const r = await adaptRepository(stack, dir, join(root, 'cache-peft'));
    const out = join(root, 'out', 'pkg');
    writeAdapterDir(out, stack, r);
    const cfg = stack.model.config;
    const names = [...readSafetensors(join(out, PEFT_WEIGHTS_FILE)).tensors.keys()];
    expect(names).toHaveLength(cfg.numLayers * 7 * 2);
    for (let l = 0; l < cfg.numLayers; l++)
      for (const m of r.adapter.config.targetModules) expect(names).toContain(peftTensorName(l, m, 'B'));
    const loaded = LoraAdapter.loadPeft(out, cfg);
    expect(loaded.weights.size).toBe(cfg.numLayers * 7);
    expect(loaded.config).toEqual(r.adapter.config);
    const ids = Int32Array.from(bench.tok.encode(code(3)).slice(0, 24));
    const batch = { ids, B: 1, T: ids.length };
    const a = stack.model.forward(null, batch, { adapter: r.adapter }).logits.data;
    const b = stack.model.forward(null, batch, { adapter: loaded }).logits.data;
    const base = stack.model.forward(null, batch).logits.data;
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(Array.from(a)).not.toEqual(Array.from(base)); // the adapter does change the model
  });

  it('records the head and base hashes, the repository (git HEAD or content hash), what was read, time and version', async () => {
    const dir = repo('gitrepo', { 'm/a.py': code(4), 'm/b.py': code(5), 'm/bin.py': Buffer.from([0, 1, 2, 0]), 'm/tiny.py': 'x\n' });
    git(dir, 'init', '-q');
    git(dir, 'add', '-A');
    git(dir, 'commit', '-qm', 'one');
    const head = git(dir, 'rev-parse', 'HEAD');
    const r = await adaptRepository(stack, dir, null);
    const out = join(root, 'out', 'gitrepo');
    writeAdapterDir(out, stack, r);
    const p = readProvenance(out)!;
    expect(p.hypernetwork.headSha256).toBe(sha256Hex(readFileSync(join(hyperDir, 'head.safetensors'))));
    expect(p.hypernetwork.training).toBeNull();
    expect(p.baseModel.sha256).toBe(modelFileSha256(modelDir));
    expect(p.repository.gitCommit).toBe(head);
    expect(p.repository.gitDirty).toBe(false);
    expect(p.repository.contentSha256).toBe(filesContentSha256(dir, ['m/a.py', 'm/b.py']));
    expect(p.encoding.files).toBe(2);
    expect(p.encoding.skipped.map((s) => s.file).sort()).toEqual(['m/bin.py', 'm/tiny.py']);
    expect(Date.now() - Date.parse(p.created)).toBeLessThan(60_000);
    expect(p.code2lora).toBe(JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')).version);
    expect(p.lora).toEqual({ rank: 4, alpha: 8, targetModules: [...r.adapter.config.targetModules] });
    // an uncommitted edit: same HEAD, dirty, another content hash
    writeFileSync(join(dir, 'm/b.py'), code(6));
    const r2 = await adaptRepository(stack, dir, null);
    expect(r2.provenance.repository.gitCommit).toBe(head);
    expect(r2.provenance.repository.gitDirty).toBe(true);
    expect(r2.provenance.repository.contentSha256).not.toBe(p.repository.contentSha256);
    // not a git repository: no commit, the content hash alone
    const plain = await adaptRepository(stack, repo('plain', { 'a.py': code(4) }), null);
    expect(plain.provenance.repository.gitCommit).toBeNull();
    expect(plain.provenance.repository.contentSha256).toBe(filesContentSha256(join(root, 'repos', 'plain'), ['a.py']));
  });

  it('re-adapting after a one-file change reads the other files from the cache', async () => {
    const dir = repo('cached', Object.fromEntries(Array.from({ length: 5 }, (_, i) => [`p/m${i}.py`, code(10 + i)])));
    const cache = join(root, 'cache-change');
    const cold = await adaptRepository(stack, dir, cache);
    expect(cold.embedding.cached).toBe(0);
    writeFileSync(join(dir, 'p/m2.py'), code(99));
    const warm = await adaptRepository(stack, dir, cache);
    expect(warm.embedding.files).toBe(5);
    expect(warm.embedding.cached).toBe(4);
    expect(warm.provenance.encoding.cached).toBe(4);
    const fresh = await adaptRepository(stack, dir, null);
    const a = warm.adapter.weights.get('*.q_proj')!.A.data,
      b = fresh.adapter.weights.get('*.q_proj')!.A.data;
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i], 6);
  });

  it('refuses to replace an --out folder that holds anything but an adapter', async () => {
    const dir = repo('refuse', { 'a.py': code(7) });
    const out = join(root, 'out', 'busy');
    mkdirSync(out, { recursive: true });
    writeFileSync(join(out, 'notes.txt'), 'mine');
    const r = await adaptRepository(stack, dir, null);
    expect(() => writeAdapterDir(out, stack, r)).toThrow(/busy already holds files that are not an adapter's \(notes\.txt\)/);
    expect(readFileSync(join(out, 'notes.txt'), 'utf8')).toBe('mine');
    // an adapter folder is replaced whole, atomically
    const out2 = join(root, 'out', 'again');
    writeAdapterDir(out2, stack, r);
    writeAdapterDir(out2, stack, r);
    expect(readProvenance(out2)?.repository.path).toBe(dir);
  });
});

describe('adapt: bad hypernetworks', () => {
  it('refuses a hypernetwork trained for another base model, naming both hashes', () => {
    const otherModel = makeTinyModel(join(root, 'model-other'), bench.modelDir, { seed: 7 });
    const otherHyper = join(root, 'hyper-other');
    makeTinyHyper(otherHyper, otherModel);
    const want = modelFileSha256(otherModel),
      have = modelFileSha256(modelDir);
    expect(want).not.toBe(have);
    let msg = '';
    try {
      loadHyperStack({ modelDir, hyperDir: otherHyper });
    } catch (err) {
      msg = (err as Error).message;
    }
    expect(msg).toContain(want);
    expect(msg).toContain(have);
    expect(msg).toContain(otherHyper);
  });

  it('a truncated or garbled head.safetensors is a clear error naming the file', () => {
    const dir = join(root, 'hyper-bad');
    makeTinyHyper(dir, modelDir);
    const head = join(dir, 'head.safetensors');
    const bytes = readFileSync(head);
    writeFileSync(head, bytes.subarray(0, bytes.length - 100));
    expect(() => loadHyperStack({ modelDir, hyperDir: dir })).toThrow(/head\.safetensors/);
    writeFileSync(head, Buffer.from('not a safetensors file at all'));
    expect(() => loadHyperStack({ modelDir, hyperDir: dir })).toThrow(/head\.safetensors/);
    rmSync(head);
    expect(() => loadHyperStack({ modelDir, hyperDir: dir })).toThrow(/head\.safetensors/);
  });

  it('a head whose weights were damaged into NaN gives an error, never an adapter', async () => {
    const dir = join(root, 'hyper-nan');
    makeTinyHyper(dir, modelDir);
    const head = join(dir, 'head.safetensors');
    const bytes = readFileSync(head);
    const dataStart = 8 + Number(bytes.readBigUInt64LE(0));
    bytes.fill(0xff, dataStart, dataStart + 256); // 0xffffffff is a float32 NaN
    writeFileSync(head, bytes);
    // the checksum recorded in hyper.json catches any change of the head's bytes at load
    expect(() => loadHyperStack({ modelDir, hyperDir: dir })).toThrow(
      /head\.safetensors: SHA-256 [0-9a-f]{64} differs from the [0-9a-f]{64} recorded in hyper\.json/,
    );
    // without a recorded checksum, the non-finite output is still refused
    const specFile = join(dir, 'hyper.json');
    const spec = JSON.parse(readFileSync(specFile, 'utf8'));
    delete spec.headSha256;
    writeFileSync(specFile, JSON.stringify(spec));
    const s = loadHyperStack({ modelDir, hyperDir: dir });
    await expect(adaptRepository(s, repo('nan', { 'a.py': code(8) }), null)).rejects.toThrow(/hyper-nan: emitted a non-finite value/);
  });

  it('names a missing hypernetwork folder', () => {
    expect(() => loadHyperStack({ modelDir, hyperDir: join(root, 'nope') })).toThrow(/no hypernetwork at .*nope \(hyper\.json missing\)/);
    expect(PROVENANCE_FILE).toBe('code2lora-provenance.json');
  });
});
