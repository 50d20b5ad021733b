// `bench evo`: what following a repository costs. On a git repository generated here (F files of
// generated code, then C commits that each change a few files), with the base model and an Evo
// checkpoint (--evo; default: the shipped Static head with a freshly initialised recurrent part,
// said so in the output, since timings do not depend on training), it measures:
//   - `evo init`: the repository embedding with a cold cache, h0 and the first adapter;
//   - one `evo update`: the production diff, its embedding (cold cache), the GRU step and the head,
//     each timed, median over the C commits;
//   - a replay of the C commits (warm diff cache) in total.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadLlama } from '../model/llama/io.js';
import { resolveModelDir } from '../model/default-model.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import { defaultHyperDir } from '../adapters/hyper/default-hyper.js';
import { HyperHead } from '../adapters/hyper/head.js';
import { Hypernetwork, modelFileSha256 } from '../adapters/hyper/hypernet.js';
import { EvoNet, EvoNetwork } from '../adapters/hyper/evo.js';
import { decodeState, evoApplyCommit, evoInit } from '../adapters/hyper/evo-state.js';
import { productionDiff } from '../data/evo/build.js';
import { defaultEvoTrainConfig, evoSpec } from '../train/evo-train.js';
import { Rng } from '../util/rng.js';

export interface EvoBenchOptions {
  files: number;
  commits: number;
  modelDir?: string;
  evoDir?: string;
  seed: number;
  log?: (s: string) => void;
}

export interface EvoBenchResult {
  checkpoint: string;
  files: number;
  commits: number;
  initSeconds: number;
  update: { totalMs: number; diffMs: number; diffEmbedMs: number; gruMs: number; headMs: number; diffSections: number };
  replaySeconds: number;
  replayPerCommitMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function code(rng: Rng, k: number, v: number): string {
  const lines = [`"""Module ${k}, version ${v}."""`, 'import math', ''];
  for (let f = 0; f < 6; f++) {
    const a = rng.int(100);
    lines.push(
      `def fn_${k}_${f}(x, y=${a}):`,
      `    """Combine x and y (${v})."""`,
      `    z = math.sqrt(abs(x * ${a} + y))`,
      `    return z + ${f}`,
      '',
      '',
    );
  }
  return lines.join('\n');
}

function git(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@e', '-c', 'commit.gpgsign=false', '-C', cwd, ...args], {
    encoding: 'utf8',
  }).trim();
}

export async function runEvoBench(o: EvoBenchOptions): Promise<EvoBenchResult> {
  const log = o.log ?? (() => {});
  const modelDir = resolveModelDir(o.modelDir);
  const { model } = loadLlama(modelDir);
  const tok = loadTokenizer(path.join(modelDir, 'tokenizer.json'));
  const sha = modelFileSha256(modelDir);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'c2l-bench-evo-'));
  try {
    let evo: EvoNetwork, ckpt: string, label: string;
    if (o.evoDir) {
      ckpt = o.evoDir;
      evo = EvoNetwork.load(ckpt, model, tok, sha);
      label = ckpt;
    } else {
      // the shipped Static head (or a fresh one) with a fresh recurrent part: the same work per update
      const hyperDir = defaultHyperDir();
      let head: HyperHead;
      let from = 'the shipped Static head';
      try {
        head = Hypernetwork.load(hyperDir, model, tok, sha).head;
      } catch {
        // no shipped head for this base: a fresh one of the Evo config's shape
        head = HyperHead.init({ ...defaultEvoTrainConfig().head, embedDim: 2 * model.config.hiddenSize }, model.config, new Rng(o.seed));
        from = 'a fresh head';
      }
      const net = EvoNet.init(head, 2 * model.config.hiddenSize, new Rng(o.seed).fork('evo'), { dtype: 'f32' });
      ckpt = path.join(work, 'evo');
      const d = defaultEvoTrainConfig();
      const encoder = { ...d.encoder, windowTokens: Math.min(d.encoder.windowTokens, model.config.maxPositionEmbeddings) }; // a small test base has a shorter context
      new EvoNetwork(net, evoSpec({ ...d, head: head.config, encoder }, sha, tok), model, tok).save(ckpt);
      evo = EvoNetwork.load(ckpt, model, tok, sha);
      label = `untrained recurrent part around ${from} (timings only)`;
    }
    log(`bench evo: checkpoint ${label}`);
    const repo = path.join(work, 'repo');
    fs.mkdirSync(path.join(repo, 'pkg'), { recursive: true });
    git(repo, 'init', '-q');
    const rng = new Rng(o.seed).fork('code');
    for (let k = 0; k < o.files; k++) fs.writeFileSync(path.join(repo, 'pkg', `m${k}.py`), code(rng, k, 0));
    git(repo, 'add', '-A');
    git(repo, 'commit', '-qm', 'c0');
    const shas = [git(repo, 'rev-parse', 'HEAD')];
    for (let c = 1; c <= o.commits; c++) {
      for (let j = 0; j < 3; j++) {
        const k = rng.int(o.files);
        fs.writeFileSync(path.join(repo, 'pkg', `m${k}.py`), code(rng, k, c));
      }
      git(repo, 'add', '-A');
      git(repo, 'commit', '-qm', `c${c}`);
      shas.push(git(repo, 'rev-parse', 'HEAD'));
    }
    git(repo, 'checkout', '-q', shas[0]);
    const cold = path.join(work, 'cache-cold');
    let t = performance.now();
    const { state: s0 } = await evoInit(evo, repo, ckpt, cold);
    const initSeconds = (performance.now() - t) / 1000;
    log(`  init (${o.files} files, cold cache): ${initSeconds.toFixed(2)} s`);
    const parts = {
      totalMs: [] as number[],
      diffMs: [] as number[],
      diffEmbedMs: [] as number[],
      gruMs: [] as number[],
      headMs: [] as number[],
    };
    let sections = 0;
    let s = s0;
    for (let c = 1; c <= o.commits; c++) {
      // the same work as one `evo update`, timed as a whole, then by part (a fresh cache each time)
      t = performance.now();
      s = await evoApplyCommit(evo, s, shas[c], path.join(work, `cache-u${c}`), { repoDir: repo });
      parts.totalMs.push(performance.now() - t);
      t = performance.now();
      const { diff } = await productionDiff(repo, shas[c - 1], shas[c], 1 << 20);
      parts.diffMs.push(performance.now() - t);
      t = performance.now();
      const e = evo.diffEncoder(null).embed(diff);
      parts.diffEmbedMs.push(performance.now() - t);
      sections += e.sections;
      t = performance.now();
      const next = evo.stepState(decodeState(s), e.vector);
      parts.gruMs.push(performance.now() - t);
      t = performance.now();
      evo.adapter(next);
      parts.headMs.push(performance.now() - t);
    }
    const update = {
      totalMs: median(parts.totalMs),
      diffMs: median(parts.diffMs),
      diffEmbedMs: median(parts.diffEmbedMs),
      gruMs: median(parts.gruMs),
      headMs: median(parts.headMs),
      diffSections: sections / o.commits,
    };
    log(
      `  one update (median of ${o.commits}): ${update.totalMs.toFixed(0)} ms = git diff ${update.diffMs.toFixed(0)} + diff embedding ${update.diffEmbedMs.toFixed(0)} (${update.diffSections.toFixed(1)} sections, cold) + GRU ${update.gruMs.toFixed(2)} + head ${update.headMs.toFixed(1)} ms`,
    );
    // replay with the cold cache warmed by the first pass: git + cache reads + GRU + head per commit
    t = performance.now();
    let r = s0;
    for (let c = 1; c <= o.commits; c++) r = await evoApplyCommit(evo, r, shas[c], path.join(work, `cache-u${c}`), { repoDir: repo });
    const replaySeconds = (performance.now() - t) / 1000;
    log(`  replay of ${o.commits} commits (diff cache warm): ${replaySeconds.toFixed(2)} s`);
    return {
      checkpoint: o.evoDir ? path.basename(path.resolve(o.evoDir)) : label,
      files: o.files,
      commits: o.commits,
      initSeconds,
      update,
      replaySeconds,
      replayPerCommitMs: (1000 * replaySeconds) / o.commits,
    };
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}
