// Code2LoRA-Evo pieces on small git repositories built here: the diff encoder (sections, cache,
// corrupt entries, empty diffs), gradients through h0 -> GRU step -> head (float64 central
// differences), the checkpoint folder (digests, refusals), and state files (init, one step per
// commit, commits applied twice or out of order refused).
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { git, makeEvoRepo, makeTinyEvo, makeTinyEvoCheckpoint, type TinyEvo } from '../../../test/fixtures/tiny-evo.js';
import { loadLlama } from '../../model/llama/io.js';
import { Tensor } from '../../tensor/index.js';
import { gradCheck, randomTensor } from '../../tensor/gradcheck.js';
import { Rng } from '../../util/rng.js';
import { withCommitSnapshot } from '../../data/evo/snapshot.js';
import { productionDiff } from '../../data/evo/build.js';
import { DiffEncoder, diffSections } from './diff-embedding.js';
import { EvoNet, EvoNetwork, adapterSha256 } from './evo.js';
import { evoApplyCommit, evoApplyDiff, evoInit, decodeState } from './evo-state.js';
import { hyperHeadToF64, HyperHead } from './head.js';
import { defaultHyperHeadConfig } from './config.js';
import { BaseModelEncoder } from './encoder.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-evo-'));
let t: TinyEvo;
let ckpt: string;
let evo: EvoNetwork;
beforeAll(async () => {
  t = await makeTinyEvo(root, 4);
  ckpt = join(root, 'ckpt');
  evo = makeTinyEvoCheckpoint(ckpt, t);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DIFF = [
  'diff --git a/p/a.py b/p/a.py\nindex 1..2 100644\n--- a/p/a.py\n+++ b/p/a.py\n@@ -1 +1,2 @@\n def f(x):\n+    return x + 1 if x else x - 1\n',
  'diff --git a/p/b.py b/p/b.py\nindex 1..2 100644\n--- a/p/b.py\n+++ b/p/b.py\n@@ -1 +1,2 @@\n class K:\n+    value = "a longer line of code"\n',
].join('');

describe('diff encoder', () => {
  it('splits per file, pools like a repository, caches per diff hash, rebuilds a corrupt entry', () => {
    expect(diffSections(DIFF).map((s) => s.split('\n')[0])).toEqual(['diff --git a/p/a.py b/p/a.py', 'diff --git a/p/b.py b/p/b.py']);
    expect(diffSections('')).toEqual([]);
    const cache = join(root, 'diff-cache');
    const enc = new DiffEncoder(evo.encoder, evo.spec.diff, cache);
    const a = enc.embed(DIFF);
    expect(a.cached).toBe(false);
    expect(a.sections).toBe(2);
    expect(a.vector.length).toBe(64);
    expect(Math.hypot(...a.vector)).toBeCloseTo(1, 5);
    const b = enc.embed(DIFF);
    expect(b.cached).toBe(true);
    expect(Array.from(b.vector)).toEqual(Array.from(a.vector));
    // corrupt the one entry: reported and rebuilt
    const dir = join(cache, enc.id);
    const sub = readdirSync(dir)[0];
    const file = join(dir, sub, readdirSync(join(dir, sub))[0]);
    writeFileSync(file, 'garbage');
    const reasons: string[] = [];
    const c = enc.embed(DIFF, (r) => reasons.push(r));
    expect(reasons.length).toBe(1);
    expect(c.cached).toBe(false);
    expect(Array.from(c.vector)).toEqual(Array.from(a.vector));
    expect(statSync(file).size).toBeGreaterThan(64 * 4);
    // a commit that touched only tests has an empty production diff: the zero vector
    expect(enc.embed('').vector.every((v) => v === 0)).toBe(true);
    // another encoder (other weights) never reads these entries
    const { model } = loadLlama(t.bench.modelDir);
    const other = new DiffEncoder(new BaseModelEncoder(model, t.bench.tok, evo.spec.encoder.window, 'f'.repeat(64)), evo.spec.diff, cache);
    expect(other.id).not.toBe(enc.id);
  });
});

describe('EvoNet', () => {
  it('gradients through h0, a GRU step and the head reach every recurrent tensor (float64)', () => {
    const { model } = loadLlama(t.bench.modelDir);
    const head64 = hyperHeadToF64(
      HyperHead.init(
        { ...defaultHyperHeadConfig(), embedDim: 6, hidden: 5, rank: 1, alpha: 2, initLogScale: -1 },
        model.config,
        new Rng(3),
      ),
    );
    const net = EvoNet.init(head64, 4, new Rng(4), { dtype: 'f64' });
    const rng = new Rng(5);
    const emb = randomTensor([1, 4], rng, { requiresGrad: false }),
      diff = randomTensor([1, 4], rng, { requiresGrad: false });
    const p = net.recurrentParameters();
    const f = (tape: Parameters<EvoNet['step']>[0]) => {
      const h1 = net.step(tape, net.initState(tape, emb), diff);
      return net.readout(tape, [h1])[0].get('*.q_proj')!.B; // [out, r]
    };
    const r = gradCheck((tape) => f(tape), [...p.values()], { samples: 12 });
    expect(r.maxRelError, r.worst).toBeLessThan(1e-6);
  });

  it('checkpoint: saves digests, reloads identically, refuses a changed file', () => {
    const { model } = loadLlama(t.bench.modelDir);
    const a = EvoNetwork.load(ckpt, model, t.bench.tok, t.baseModelSha256);
    const h = a.initialState(new Float32Array(64).fill(0.1));
    expect(a.adapter(h).sha256).toBe(evo.adapter(evo.initialState(new Float32Array(64).fill(0.1))).sha256);
    expect(a.checkpointSha256).toMatch(/^[0-9a-f]{64}$/);
    const bad = join(root, 'bad-ckpt');
    evo.save(bad);
    const w = join(bad, 'evo.safetensors');
    const bytes = readFileSync(w);
    bytes[bytes.length - 1] ^= 1;
    writeFileSync(w, bytes);
    expect(() => EvoNetwork.load(bad, model, t.bench.tok, t.baseModelSha256)).toThrow(/evo.safetensors: SHA-256 .* differs/);
  });

  it('adapterSha256 depends on the values', () => {
    const a = new Map([['*.q_proj', { A: new Tensor(new Float32Array([1, 2]), [1, 2]), B: new Tensor(new Float32Array([3]), [1, 1]) }]]);
    const b = new Map([['*.q_proj', { A: new Tensor(new Float32Array([1, 2]), [1, 2]), B: new Tensor(new Float32Array([4]), [1, 1]) }]]);
    expect(adapterSha256(a)).not.toBe(adapterSha256(b));
  });
});

describe('evo state', () => {
  it('init at HEAD, one step per commit, refuses twice / out of order / unrelated, applies raw diffs once', async () => {
    const repo = join(root, 'live');
    const shas = makeEvoRepo(repo, 'live', 4);
    git(repo, 'checkout', '-q', shas[1]);
    const { state: s0 } = await evoInit(evo, repo, ckpt, join(root, 'cache'));
    expect(s0.lastCommit).toBe(shas[1]);
    expect(s0.steps).toBe(0);
    git(repo, 'checkout', '-q', 'main');
    const s1 = await evoApplyCommit(evo, s0, shas[2], join(root, 'cache'));
    expect(s1.lastCommit).toBe(shas[2]);
    expect(s1.steps).toBe(1);
    expect(s1.adapterSha256).not.toBe(s0.adapterSha256);
    const { diff } = await productionDiff(repo, shas[1], shas[2], 1 << 20);
    expect(diff).toContain('def f_2');
    const want = evo.stepState(decodeState(s0), evo.diffEncoder(null).embed(diff).vector);
    expect(Array.from(decodeState(s1))).toEqual(Array.from(want));
    await expect(evoApplyCommit(evo, s1, shas[2], null)).rejects.toThrow(/already applied/);
    await expect(evoApplyCommit(evo, s1, shas[0], null)).rejects.toThrow(/older than the state's last commit/);
    git(repo, 'checkout', '-qb', 'side', shas[0]);
    writeFileSync(join(repo, 'live', 'side.py'), 'def side():\n    return 1\n');
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'side');
    const side = git(repo, 'rev-parse', 'HEAD');
    await expect(evoApplyCommit(evo, s1, side, null)).rejects.toThrow(/does not descend from/);
    await expect(evoApplyCommit(evo, s1, 'no-such-rev', null)).rejects.toThrow(/not a commit/);
    const s2 = await evoApplyCommit(evo, s1, shas[3], null);
    expect(s2.steps).toBe(2);
    const s3 = evoApplyDiff(evo, s2, DIFF, null);
    expect(s3.lastCommit).toBe(shas[3]);
    expect(() => evoApplyDiff(evo, s3, DIFF, null)).toThrow(/already applied/);
    expect(s3.history.map((e) => e.kind)).toEqual(['init', 'commit', 'commit', 'diff']);
    // another checkpoint's state is refused
    const other = makeTinyEvoCheckpoint(join(root, 'other-ckpt'), t, 1);
    await expect(evoApplyCommit(other, s2, shas[3], null)).rejects.toThrow(/built with checkpoint/);
  });

  it("a commit snapshot holds that commit's .py files only", async () => {
    const dir = t.repoDirs.get('north')!;
    const first = git(dir, 'rev-list', '--max-parents=0', 'HEAD');
    const files = await withCommitSnapshot(dir, first, (d) => readdirSync(join(d, 'north')));
    expect(files).toEqual(['core.py']);
  });
});
