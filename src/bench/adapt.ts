// `bench adapt`: how fast a repository gets its adapter and what the adapter costs afterwards.
// On a synthetic repository of real code (files of the benchmark corpus, .cache/corpus/projects/*,
// else generated code), with the shipped hypernetwork (or an untrained head of the shipped config,
// said so in the output), it measures:
//   - adapter time with a cold embedding cache, and after a one-file change (warm cache);
//   - the head's forward pass alone (median of --head-runs);
//   - greedy decoding tokens/s: base model, generated adapter unfolded, adapter folded into the weights;
//   - one hypernetwork training step (head forward + model forward/backward through the generated
//     adapters + head backward + AdamW) vs one plain LoRA training step on the same batch, as a ratio.
// Targets (issue 7): cold < 10 s, one-file change < 1 s, head < 10 ms, training >= 85% of plain LoRA's
// tokens/s, folded decoding within 10% of the base model. The table says which hold on this run.
// Letters: R repositories per step, S sequences per repository, T tokens per sequence, E embedding width.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadNative } from '../native/index.js';
import { Tape, Tensor } from '../tensor/index.js';
import { AdamW, clipGradNorm } from '../nn/optim/adamw.js';
import { generateGreedy } from '../model/llama/generate.js';
import { loadLlama } from '../model/llama/io.js';
import { resolveModelDir } from '../model/default-model.js';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { mergeLora } from '../adapters/lora/merge.js';
import { defaultHyperHeadConfig, validateHyperHeadConfig, type HyperHeadConfig } from '../adapters/hyper/config.js';
import { HyperHead } from '../adapters/hyper/head.js';
import { defaultWindowConfig, tokenizerFingerprint, type WindowConfig } from '../adapters/hyper/encoder.js';
import { HYPER_FORMAT, Hypernetwork, modelFileSha256, type HyperSpec } from '../adapters/hyper/hypernet.js';
import { defaultRepoEmbeddingConfig, type RepoEmbeddingConfig } from '../adapters/hyper/repo-embedding.js';
import { defaultHyperDir } from '../adapters/hyper/default-hyper.js';
import { hyperSegmentAdapter } from '../adapters/hyper/mixed.js';
import { isEncoderExcluded, listEncoderFiles } from '../adapters/hyper/repo-files.js';
import { adaptRepository, loadHyperStack, type HyperStack } from '../adapters/hyper/adapt.js';
import { listPythonFiles } from '../data/python/files.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import { repoRelative, repoRoot } from '../util/repo-root.js';
import { Rng } from '../util/rng.js';

export interface AdaptBenchOptions {
  /** files in the synthetic repository */
  files: number;
  /** folder with projects/<name>/ to take real code from (missing = generated code) */
  corpus: string;
  modelDir?: string;
  /** a hypernetwork directory; default: the shipped one, else an untrained head of the shipped config */
  hyperDir?: string;
  headRuns: number;
  /** decoding */
  prompt: number;
  newTokens: number;
  repeats: number;
  /** training step: R repositories x S sequences of T tokens */
  reposPerStep: number;
  seqsPerRepo: number;
  seq: number;
  steps: number;
  warmup: number;
  seed: number;
  log?: (s: string) => void;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Generated Python: a module of functions and a class, distinct per index. */
function generatedModule(i: number, rng: Rng): string {
  const lines = [
    `"""Module ${i}: helpers for part ${i % 17} of the synthetic package."""`,
    'import math',
    'from typing import Any, Optional',
    '',
  ];
  const fns = 4 + rng.int(6);
  for (let f = 0; f < fns; f++) {
    const k = rng.int(1000);
    lines.push(
      '',
      `def compute_${i}_${f}(values: list, scale: float = ${k / 10}) -> Optional[float]:`,
      `    """Scaled sum of the positive values (part ${f})."""`,
      '    total = 0.0',
      '    for v in values:',
      `        if v > ${k % 7}:`,
      `            total += math.sqrt(v) * scale`,
      `    return total if total else None`,
    );
  }
  lines.push(
    '',
    '',
    `class Store${i}:`,
    `    def __init__(self, name: str = "store_${i}") -> None:`,
    '        self.name = name',
    '        self.items: dict[str, Any] = {}',
    '',
    '    def put(self, key: str, value: Any) -> None:',
    '        self.items[key] = value',
    '',
    '    def get(self, key: str, default: Any = None) -> Any:',
    '        return self.items.get(key, default)',
    '',
  );
  return lines.join('\n');
}

/** Writes an n-file Python package under `dir` from the corpus's non-test files (at most n/10 per
 *  project, projects in name order, files between 512 bytes and 64 KiB), padded with generated code. */
export async function buildSyntheticRepo(
  dir: string,
  n: number,
  corpus: string,
  seed: number,
): Promise<{ fromCorpus: number; generated: number; projects: number }> {
  fs.mkdirSync(path.join(dir, 'pkg'), { recursive: true });
  let written = 0,
    projects = 0;
  const projDir = path.join(corpus, 'projects');
  const perProject = Math.max(1, Math.ceil(n / 10));
  const put = (body: Buffer | string) => {
    fs.writeFileSync(path.join(dir, 'pkg', `mod_${String(written).padStart(4, '0')}.py`), body);
    written++;
  };
  if (fs.existsSync(projDir)) {
    for (const name of fs.readdirSync(projDir).sort()) {
      if (written >= n) break;
      const root = path.join(projDir, name);
      if (!fs.statSync(root).isDirectory()) continue;
      const files = (await listPythonFiles(root)).filter((f) => !isEncoderExcluded(f));
      let taken = 0;
      for (const f of files) {
        if (written >= n || taken >= perProject) break;
        const st = fs.lstatSync(path.join(root, f));
        if (!st.isFile() || st.size < 512 || st.size > 64 * 1024) continue;
        put(fs.readFileSync(path.join(root, f)));
        taken++;
      }
      if (taken) projects++;
    }
  }
  const fromCorpus = written;
  const rng = new Rng(seed).fork('generated');
  while (written < n) put(generatedModule(written, rng));
  return { fromCorpus, generated: n - fromCorpus, projects };
}

/** The head / encoder / repository settings of configs/hyper-static.json (the shipped training
 *  config) when present, else the defaults. */
function shippedHyperSettings(): { head: HyperHeadConfig; window: WindowConfig; repo: RepoEmbeddingConfig; source: string } {
  const file = path.join(repoRoot(), 'configs', 'hyper-static.json');
  const d = { head: defaultHyperHeadConfig(), window: defaultWindowConfig(), repo: defaultRepoEmbeddingConfig() };
  if (!fs.existsSync(file)) return { ...d, source: 'defaults (no configs/hyper-static.json)' };
  let j: { head?: Partial<HyperHeadConfig>; encoder?: Partial<WindowConfig>; repo?: Partial<RepoEmbeddingConfig> };
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new Error(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return {
    head: validateHyperHeadConfig({ ...d.head, ...j.head }, `${file} head`),
    window: { ...d.window, ...j.encoder },
    repo: { ...d.repo, ...j.repo },
    source: 'configs/hyper-static.json',
  };
}

/** The stack to measure: the given / shipped hypernetwork, else an untrained head saved to `tmp`. */
function benchStack(o: AdaptBenchOptions, tmp: string): { stack: HyperStack; hypernetwork: string } {
  const hyperDir = o.hyperDir ?? (fs.existsSync(path.join(defaultHyperDir(), 'hyper.json')) ? defaultHyperDir() : undefined);
  if (hyperDir) {
    const stack = loadHyperStack({ modelDir: o.modelDir, hyperDir });
    return { stack, hypernetwork: `${stack.hyper.spec.training ? 'trained' : 'untrained'} hypernetwork ${repoRelative(hyperDir)}` };
  }
  const modelDir = resolveModelDir(o.modelDir);
  const { model } = loadLlama(modelDir);
  const tok = loadTokenizer(path.join(modelDir, 'tokenizer.json'));
  const s = shippedHyperSettings();
  const head = HyperHead.init({ ...s.head, embedDim: 2 * model.config.hiddenSize }, model.config, new Rng(o.seed).fork('head-init'));
  const spec: HyperSpec = {
    format: HYPER_FORMAT,
    version: 1,
    baseModelSha256: modelFileSha256(modelDir),
    tokenizer: tokenizerFingerprint(tok),
    encoder: { kind: 'base-mean-pool', window: s.window, repo: s.repo },
    dtype: 'F32',
  };
  const dir = path.join(tmp, 'untrained-hyper');
  new Hypernetwork(head, spec, model, tok).save(dir);
  return {
    stack: loadHyperStack({ modelDir, hyperDir: dir }),
    hypernetwork: `UNTRAINED head of the shipped config (${s.source}); no trained hypernetwork at ${repoRelative(defaultHyperDir())}`,
  };
}

/** Token ids of the repository's text, for prompts and training batches. */
function textIds(stack: HyperStack, repo: string, files: string[], need: number): number[] {
  const ids: number[] = [];
  for (const f of files) {
    if (ids.length >= need) break;
    ids.push(...stack.tokenizer.encode(fs.readFileSync(path.join(repo, f), 'utf8')));
  }
  while (ids.length < need) ids.push(...ids.slice(0, need - ids.length));
  return ids;
}

function decodeBench(stack: HyperStack, adapter: LoraAdapter, prompt: number[], o: AdaptBenchOptions) {
  const folded = mergeLora(stack.model, adapter);
  const t0 = performance.now();
  mergeLora(stack.model, adapter);
  const foldSeconds = (performance.now() - t0) / 1000;
  const time = (model: typeof stack.model, a: LoraAdapter | null) => {
    generateGreedy(model, [prompt], { maxNewTokens: o.newTokens, adapter: a }); // warm-up: caches, fresh pages of a new copy
    let best = Infinity,
      ids: number[] = [];
    for (let r = 0; r < o.repeats; r++) {
      const s0 = performance.now();
      const [g] = generateGreedy(model, [prompt], { maxNewTokens: o.newTokens, adapter: a });
      best = Math.min(best, (performance.now() - s0) / 1000);
      ids = g.ids;
    }
    return { tokens: ids.length, seconds: best, tokens_per_s: ids.length / best, ids };
  };
  const base = time(stack.model, null),
    unfolded = time(stack.model, adapter),
    foldedRun = time(folded, null);
  const strip = ({ ids: _ids, ...rest }: ReturnType<typeof time>) => rest;
  return {
    base: strip(base),
    unfolded: strip(unfolded),
    folded: strip(foldedRun),
    overhead_unfolded: base.tokens_per_s / unfolded.tokens_per_s - 1,
    overhead_folded: base.tokens_per_s / foldedRun.tokens_per_s - 1,
    fold_seconds: foldSeconds,
    folded_same_tokens: foldedRun.ids.join(',') === unfolded.ids.join(','),
  };
}

/** Median seconds of one training step for each of the two set-ups on the same batch. */
function trainStepBench(stack: HyperStack, ids: number[], embeddings: Float32Array[], o: AdaptBenchOptions) {
  const model = stack.model,
    cfg = model.config;
  model.setTrainable(false);
  const R = o.reposPerStep,
    S = o.seqsPerRepo,
    T = Math.min(o.seq, cfg.maxPositionEmbeddings),
    B = R * S;
  const batchIds = new Int32Array(B * T),
    targets = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    const off = (b * 131) % Math.max(1, ids.length - T - 1);
    for (let t = 0; t < T; t++) {
      batchIds[b * T + t] = ids[off + t];
      targets[b * T + t] = ids[off + t + 1];
    }
  }
  const batch = { ids: batchIds, B, T };
  const E = embeddings[0].length;
  const emb = new Tensor(new Float32Array(R * E), [R, E]); // [R, E]
  for (let i = 0; i < R; i++) emb.data.set(embeddings[i % embeddings.length], i * E);
  // A trainable copy of the head, so the measured stack stays as loaded.
  const params = new Map(
    [...stack.hyper.head.parameters()].map(([k, t]) => [
      k,
      new Tensor(Float32Array.from(t.data), t.shape, { requiresGrad: true, name: k }),
    ]),
  );
  const head = new HyperHead(stack.hyper.head.config, cfg, params);
  const adamw = { lr: 1e-4, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const lora = LoraAdapter.init(head.loraConfig(), cfg, new Rng(o.seed).fork('lora'));
  const loraParams = new Map(lora.parameters().map((p) => [p.name, p]));
  const setups = {
    hyper: { opt: new AdamW(head.parameters(), adamw), params: [...head.parameters().values()] },
    lora: { opt: new AdamW(loraParams, adamw), params: [...loraParams.values()] },
  };
  const tape = new Tape();
  const out: Record<string, { median_step_s: number; tokens_per_s: number; loss: number }> = {};
  for (const name of ['lora', 'hyper'] as const) {
    const { opt, params: ps } = setups[name];
    const times: number[] = [];
    let loss = 0;
    for (let s = 0; s < o.warmup + o.steps; s++) {
      const t0 = performance.now();
      opt.zeroGrad();
      const adapter = name === 'hyper' ? hyperSegmentAdapter(head, head.forward(tape, emb), Array(R).fill(S), T) : lora;
      const l = model.loss(tape, batch, targets, adapter).loss;
      tape.backward(l);
      clipGradNorm(ps, 1.0);
      opt.update(adamw.lr);
      loss = l.data[0];
      if (s >= o.warmup) times.push((performance.now() - t0) / 1000);
    }
    out[name] = { median_step_s: median(times), tokens_per_s: (B * T) / median(times), loss };
  }
  return {
    batch: { repos: R, seqsPerRepo: S, seq: T, tokens: B * T },
    hyper: out.hyper,
    lora: out.lora,
    ratio: out.hyper.tokens_per_s / out.lora.tokens_per_s,
  };
}

export async function runAdaptBench(o: AdaptBenchOptions) {
  const log = o.log ?? (() => {});
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'c2l-bench-adapt-'));
  try {
    const { stack, hypernetwork } = benchStack(o, tmp);
    log(`hypernetwork: ${hypernetwork}`);
    const repo = path.join(tmp, 'repo');
    const source = await buildSyntheticRepo(repo, o.files, o.corpus, o.seed);
    log(
      `repository: ${o.files} files (${source.fromCorpus} from ${source.projects} corpus projects, ${source.generated} generated); ${loadNative().getNumThreads()} threads`,
    );
    const cache = path.join(tmp, 'cache');
    const t0 = performance.now();
    const cold = await adaptRepository(stack, repo, cache);
    const coldTotal = (performance.now() - t0) / 1000;
    // change one file the encoder reads, then adapt again (the others come from the cache)
    const used = (await listEncoderFiles(repo, stack.hyper.spec.encoder.repo.maxFiles)).files;
    const changed = used[Math.floor(used.length / 2)];
    fs.appendFileSync(path.join(repo, changed), '\n\ndef _bench_changed(x):\n    return x + 1\n');
    const t1 = performance.now();
    const warm = await adaptRepository(stack, repo, cache);
    const warmTotal = (performance.now() - t1) / 1000;
    // the head alone
    const emb = new Tensor(Float32Array.from(warm.embedding.vector), [1, warm.embedding.vector.length]);
    const headMs: number[] = [];
    stack.hyper.head.forward(null, emb);
    for (let i = 0; i < o.headRuns; i++) {
      const h0 = performance.now();
      stack.hyper.head.forward(null, emb);
      headMs.push(performance.now() - h0);
    }
    const ids = textIds(stack, repo, used, Math.max(o.prompt, o.seq * 4) + 1);
    const promptIds = ids.slice(0, Math.min(o.prompt, stack.model.config.maxPositionEmbeddings - o.newTokens));
    const gen = decodeBench(stack, warm.adapter, promptIds, o);
    const train = trainStepBench(stack, ids, [cold.embedding.vector, warm.embedding.vector], o);
    const result = {
      benchmark: 'adapt',
      hypernetwork,
      head_parameters: stack.hyper.head.parameterCount(),
      threads: loadNative().getNumThreads(),
      repository: {
        files: o.files,
        ...source,
        encoded: cold.embedding.files,
        windows: cold.embedding.windows,
        cappedFiles: cold.embedding.cappedFiles,
        cappedWindows: cold.embedding.cappedWindows,
        skipped: cold.embedding.skipped.length,
      },
      adapter: {
        cold_s: cold.seconds,
        cold_with_provenance_s: coldTotal,
        one_file_change_s: warm.seconds,
        one_file_change_with_provenance_s: warmTotal,
        one_file_change_cached_files: warm.embedding.cached,
      },
      head_forward_ms: { median: median(headMs), min: Math.min(...headMs), runs: o.headRuns },
      generate: { prompt: promptIds.length, ...gen },
      train_step: train,
      targets: { cold_s: 10, one_file_change_s: 1, head_forward_ms: 10, train_ratio: 0.85, generate_overhead: 0.1 },
      options: { ...o, log: undefined },
    };
    const ok = (b: boolean) => (b ? 'yes' : 'NO');
    const pct = (x: number) => `${x >= 0 ? '+' : ''}${(100 * x).toFixed(1)}%`;
    const rows: Array<[string, string, string, string]> = [
      ['adapter, cold cache', `${result.adapter.cold_s.toFixed(2)} s`, '< 10 s', ok(result.adapter.cold_s < 10)],
      [
        'adapter, one file changed',
        `${result.adapter.one_file_change_s.toFixed(3)} s (${warm.embedding.cached}/${warm.embedding.files} cached)`,
        '< 1 s',
        ok(result.adapter.one_file_change_s < 1),
      ],
      ['head forward (median)', `${result.head_forward_ms.median.toFixed(2)} ms`, '< 10 ms', ok(result.head_forward_ms.median < 10)],
      ['decode: base', `${gen.base.tokens_per_s.toFixed(1)} tok/s`, '', ''],
      ['decode: adapter unfolded', `${gen.unfolded.tokens_per_s.toFixed(1)} tok/s (${pct(gen.overhead_unfolded)})`, '', ''],
      [
        'decode: adapter folded',
        `${gen.folded.tokens_per_s.toFixed(1)} tok/s (${pct(gen.overhead_folded)}; fold ${(1000 * gen.fold_seconds).toFixed(0)} ms)`,
        '<= +10%',
        ok(gen.overhead_folded <= 0.1),
      ],
      ['train step: plain LoRA', `${train.lora.tokens_per_s.toFixed(0)} tok/s`, '', ''],
      [
        'train step: hypernetwork',
        `${train.hyper.tokens_per_s.toFixed(0)} tok/s (ratio ${train.ratio.toFixed(3)})`,
        '>= 0.85',
        ok(train.ratio >= 0.85),
      ],
    ];
    const w = [0, 1, 2].map((i) => Math.max(...rows.map((r) => r[i].length)));
    for (const r of rows) log(`  ${r[0].padEnd(w[0])}  ${r[1].padEnd(w[1])}  ${r[2].padEnd(w[2])}  ${r[3]}`);
    log(
      `  (repository: ${cold.embedding.files} files encoded, ${cold.embedding.cappedFiles} capped, ${cold.embedding.windows} windows; train batch ${train.batch.repos} x ${train.batch.seqsPerRepo} x ${train.batch.seq}; folded and unfolded greedy tokens ${gen.folded_same_tokens ? 'identical' : 'DIFFER'})`,
    );
    return result;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}
