// The conditioning audit (METHOD.md section 4), always reported next to a Code2LoRA score: the same
// tasks completed with (a) each repository's own generated adapter, (b) the exact mean of all
// generated adapters, (c) a wrong repository's adapter (a fixed derangement), (d) the adapter of the
// zero embedding; paired repository-bootstrap intervals for own minus each; and how diverse the
// generated adapters are. Code2LoRA is repository-specific only where own beats (b) and (c) with the
// interval of the difference above zero.
import * as path from 'node:path';
import { LoraAdapter } from '../adapters/lora/layer.js';
import { Hypernetwork, modelFileSha256 } from '../adapters/hyper/hypernet.js';
import { adapterDiversity, derangement, meanAdapter, type AdapterDiversity } from '../adapters/hyper/audit-adapters.js';
import { readManifestSync } from '../data/manifest.js';
import type { Task } from '../data/tasks/types.js';
import type { FileVectors } from '../adapters/hyper/repo-embedding.js';
import type { ProjectionAdapter } from '../model/llama/model.js';
import { repoRelative } from '../util/repo-root.js';
import { bootstrapDiff, type DiffInterval } from './bootstrap.js';
import { loadModelWithTokenizer } from './prompting.js';
import { evaluateLoaded, readTasks, tasksCorpusDir, type EvalReport } from './run-tasks.js';
import type { LlamaModel } from '../model/llama/model.js';
import type { TextTokenizer } from '../tokenizer/tokenizer.js';

export const AUDIT_CONDITIONS = ['own', 'mean', 'wrong', 'zero', 'none'] as const;
export type AuditCondition = (typeof AUDIT_CONDITIONS)[number];

export interface AuditOptions {
  hyperDir: string;
  modelDir?: string;
  tasksDir: string;
  split: string;
  /** corpus holding the repositories (default: the one recorded in the tasks' stats.json) */
  corpusDir?: string;
  /** per-file embedding cache (null: none) */
  cacheDir: string | null;
  /** conditions to run; 'own' always runs; 'none' is the base model without adapter */
  conditions: readonly AuditCondition[];
  maxNewTokens: number;
  batch: number;
  /** seeded sample of at most this many tasks per repository (0 = all) */
  tasksPerRepo: number;
  /** only these repositories' tasks (e.g. the per-repo LoRA sample of the in-repo rows) */
  repos?: readonly string[];
  bootstrapSamples?: number;
  seed: number;
  onProgress?: (what: string, done: number, total: number) => void;
}

export type ConditionSummary = Omit<EvalReport, 'results'>;

export interface AuditReport {
  split: string;
  hypernetwork: string;
  model: string;
  repos: number;
  tasks: number;
  conditions: Partial<Record<AuditCondition, ConditionSummary>>;
  /** own minus each other condition, paired over the same tasks, repository bootstrap */
  ownMinus: Partial<Record<Exclude<AuditCondition, 'own'>, { exactMatch: DiffInterval; editSimilarity: DiffInterval }>>;
  diversity: AdapterDiversity;
  /** repository -> the repository whose adapter it got in the 'wrong' condition */
  wrongAssignment: Record<string, string>;
  verdict: string;
  embedding: { seconds: number; files: number; cachedFiles: number };
  /** per-task results of the own-adapter condition (predictions included) */
  results: EvalReport['results'];
  /** per-task exact match of every condition, in the order of `results` */
  exactByCondition: Partial<Record<AuditCondition, number[]>>;
}

/** Everything the audit conditions share: the model, the tasks, each repository's own adapter and
 *  the condition that picks an adapter per repository (and per task when test files are embedded). */
export interface AuditSetup {
  modelDir: string;
  model: LlamaModel;
  tokenizer: TextTokenizer;
  hyper: Hypernetwork;
  tasks: Task[];
  repos: string[];
  adapters: LoraAdapter[];
  pick: Record<AuditCondition, (repo: string) => ProjectionAdapter | null>;
  /** the own condition per task (null: per repository) */
  ownForTask: { key: (t: Task) => string; adapter: (t: Task) => LoraAdapter } | undefined;
  wrong: Map<string, string>;
  embedding: AuditReport['embedding'];
}

export function auditSetup(
  o: Pick<AuditOptions, 'modelDir' | 'hyperDir' | 'tasksDir' | 'split' | 'repos' | 'corpusDir' | 'cacheDir' | 'onProgress'>,
): AuditSetup {
  const { dir, model, tokenizer } = loadModelWithTokenizer(o.modelDir);
  const hyper = Hypernetwork.load(o.hyperDir, model, tokenizer, modelFileSha256(dir));
  const keep = o.repos ? new Set(o.repos) : null;
  const tasks = readTasks(o.tasksDir, o.split).filter((t) => !keep || keep.has(t.repo));
  const repos = [...new Set(tasks.map((t) => t.repo))].sort();
  if (repos.length < 2) throw new Error(`audit ${o.split}: needs at least two repositories, found ${repos.length}`);
  const corpus = o.corpusDir ?? tasksCorpusDir(o.tasksDir);
  const manifest = readManifestSync(corpus);
  const dirs = new Map(manifest.projects.map((p) => [p.name, path.join(corpus, p.dir)]));
  const t0 = performance.now();
  const own = new Map<string, LoraAdapter>();
  const fileVectors = new Map<string, FileVectors>();
  let files = 0,
    cachedFiles = 0;
  for (const [i, repo] of repos.entries()) {
    o.onProgress?.('embed', i, repos.length);
    const d = dirs.get(repo);
    if (!d) throw new Error(`audit: repository ${repo} has tasks but no folder in the corpus ${corpus}`);
    const fv = hyper.fileVectors(d, o.cacheDir);
    fileVectors.set(repo, fv);
    // the repository's adapter from all its files: what the mean, wrong and diversity use
    own.set(repo, hyper.adapterForFile(fv, undefined));
    files += fv.report.files;
    cachedFiles += fv.report.cached;
  }
  o.onProgress?.('embed', repos.length, repos.length);
  const embedSeconds = (performance.now() - t0) / 1000;
  const adapters = repos.map((r) => own.get(r)!);
  const mean = meanAdapter(adapters, model.config);
  const wrong = derangement(repos);
  const zero = hyper.adapterFromEmbedding(new Float32Array(hyper.head.config.embedDim));
  const pick: Record<AuditCondition, (repo: string) => ProjectionAdapter | null> = {
    own: (r) => own.get(r)!,
    mean: () => mean,
    wrong: (r) => own.get(wrong.get(r)!)!,
    zero: () => zero,
    none: () => null,
  };
  // With test files embedded, a task's own adapter leaves its own test file out of the pool.
  const perTask = new Map<string, LoraAdapter>();
  const ownForTask = hyper.perTestFile
    ? {
        key: (t: Task) => hyper.adapterKey(t),
        adapter: (t: Task) => {
          const k = hyper.adapterKey(t);
          let a = perTask.get(k);
          if (!a) {
            a = hyper.adapterForFile(fileVectors.get(t.repo)!, t.file);
            perTask.set(k, a);
          }
          return a;
        },
      }
    : undefined;
  return {
    modelDir: dir,
    model,
    tokenizer,
    hyper,
    tasks,
    repos,
    adapters,
    pick,
    ownForTask,
    wrong,
    embedding: { seconds: embedSeconds, files, cachedFiles },
  };
}

export function runAudit(o: AuditOptions): AuditReport {
  const { modelDir: dir, model, tokenizer, repos, adapters, pick, ownForTask, wrong, embedding } = auditSetup(o);
  const conds = ['own', ...o.conditions.filter((c) => c !== 'own')] as AuditCondition[];
  const reports: Partial<Record<AuditCondition, EvalReport>> = {};
  for (const c of conds) {
    reports[c] = evaluateLoaded(model, tokenizer, {
      tasksDir: o.tasksDir,
      split: o.split,
      maxNewTokens: o.maxNewTokens,
      batch: o.batch,
      limit: 0,
      tasksPerRepo: o.tasksPerRepo,
      seed: o.seed,
      bootstrapSamples: o.bootstrapSamples,
      repos: o.repos,
      modelName: repoRelative(dir),
      adapterName: `${c} (${repoRelative(o.hyperDir)})`,
      adapterFor: pick[c],
      adapterForTask: c === 'own' ? ownForTask : undefined,
      onProgress: (d, t) => o.onProgress?.(c, d, t),
    });
  }
  const base = reports.own!;
  const groups = base.results.map((r) => r.repo);
  const ownMinus: AuditReport['ownMinus'] = {};
  for (const c of conds) {
    if (c === 'own') continue;
    const other = reports[c]!;
    other.results.forEach((r, i) => {
      if (r.id !== base.results[i].id) throw new Error(`audit: task order differs between conditions at ${i}`);
    });
    ownMinus[c] = {
      exactMatch: bootstrapDiff(
        base.results.map((r) => r.exact),
        other.results.map((r) => r.exact),
        { groups, seed: o.seed, samples: o.bootstrapSamples },
      ),
      editSimilarity: bootstrapDiff(
        base.results.map((r) => r.edit),
        other.results.map((r) => r.edit),
        { groups, seed: o.seed, samples: o.bootstrapSamples },
      ),
    };
  }
  const diversity = adapterDiversity(adapters, model.config);
  const summaries: AuditReport['conditions'] = {};
  const exactByCondition: AuditReport['exactByCondition'] = {};
  for (const c of conds) {
    const { results, ...rest } = reports[c]!;
    summaries[c] = rest;
    exactByCondition[c] = results.map((r) => r.exact);
  }
  return {
    split: o.split,
    hypernetwork: repoRelative(o.hyperDir),
    model: repoRelative(dir),
    repos: repos.length,
    tasks: base.tasks,
    conditions: summaries,
    ownMinus,
    diversity,
    wrongAssignment: Object.fromEntries(wrong),
    verdict: auditVerdict(ownMinus, diversity),
    embedding,
    results: base.results,
    exactByCondition,
  };
}

/** The plain-words reading of the audit: repository-specific only when own beats both the mean and
 *  a wrong repository's adapter with the whole 95% interval above zero (exact match or edit similarity). */
export function auditVerdict(ownMinus: AuditReport['ownMinus'], d: AdapterDiversity): string {
  const beats = (c: 'mean' | 'wrong') => {
    const x = ownMinus[c];
    return x ? { em: x.exactMatch.lo > 0, es: x.editSimilarity.lo > 0 } : null;
  };
  const m = beats('mean'),
    w = beats('wrong');
  const collapse =
    d.meanDeltaShare > 0.95
      ? ` The generated adapters are nearly one adapter (mean delta is ${(100 * d.meanDeltaShare).toFixed(1)}% of the average delta's norm; pairwise cosine ${d.meanPairwiseCosine.toFixed(3)}).`
      : '';
  if (!m || !w) return `incomplete: the audit needs the mean and wrong conditions.${collapse}`;
  if ((m.em || m.es) && (w.em || w.es))
    return `repository-specific: the own adapter beats both the mean adapter and a wrong repository's adapter with 95% intervals above zero (${[m.em && w.em ? 'exact match' : '', m.es && w.es ? 'edit similarity' : ''].filter(Boolean).join(', ') || 'on different metrics'}).${collapse}`;
  return `not shown to be repository-specific: the own adapter does not beat ${!(m.em || m.es) ? 'the mean adapter' : ''}${!(m.em || m.es) && !(w.em || w.es) ? ' or ' : ''}${!(w.em || w.es) ? "a wrong repository's adapter" : ''} with a 95% interval above zero.${collapse}`;
}

/** One-line summaries for the console and the results table. */
export function auditLines(r: AuditReport): string[] {
  const pct = (x: number) => (100 * x).toFixed(1);
  const lines = [`${r.split}: ${r.tasks} tasks in ${r.repos} repositories (hypernetwork ${r.hypernetwork})`];
  for (const [c, s] of Object.entries(r.conditions)) {
    const d =
      c === 'own'
        ? ''
        : (() => {
            const x = r.ownMinus[c as Exclude<AuditCondition, 'own'>]!;
            return `   own - ${c}: EM ${pct(x.exactMatch.estimate)} [${pct(x.exactMatch.lo)}, ${pct(x.exactMatch.hi)}], ES ${pct(x.editSimilarity.estimate)} [${pct(x.editSimilarity.lo)}, ${pct(x.editSimilarity.hi)}]`;
          })();
    lines.push(
      `  ${c.padEnd(6)} EM ${pct(s.exactMatch.estimate)}% [${pct(s.exactMatch.lo)}, ${pct(s.exactMatch.hi)}]  ES ${pct(s.editSimilarity.estimate)} [${pct(s.editSimilarity.lo)}, ${pct(s.editSimilarity.hi)}]  per-repo EM ${pct(s.perRepo.exactMatch.estimate)}%${d}`,
    );
  }
  lines.push(
    `  diversity: mean pairwise cosine ${r.diversity.meanPairwiseCosine.toFixed(4)} raw, ${r.diversity.meanPairwiseCosineCentred.toFixed(4)} mean-centred; mean delta / mean norm ${r.diversity.meanDeltaShare.toFixed(4)}`,
  );
  lines.push(`  verdict: ${r.verdict}`);
  return lines;
}
