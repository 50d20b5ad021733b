// The benchmark report from the stage artefacts: README.md (tables) and report.html (the same tables
// and inline SVG plots). Methods whose stages have not run show as "not run", never as a number.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootstrapDiff, bootstrapGroupMean, type Interval } from '../../eval/bootstrap.js';
import type { EvalReport, TaskResult } from '../../eval/run-tasks.js';
import { lineChartSvg } from '../../util/svg-plot.js';
import { writeFileAtomicSync } from '../../util/atomic.js';
import { repoRelative } from '../../util/repo-root.js';
import { readStageRecord, stageDir, type StageRecord } from '../stage-cache.js';
import type { BenchStaticConfig } from './config.js';
import type { LatencyReport } from './latency.js';
import { LOSS_MAX_TOKENS, METHODS, type EvalSplit, type MethodSpec, type Stage } from './stages.js';
import { barChartSvg, type BarGroup } from './plots.js';
import type { AuditReport } from '../../eval/audit.js';
import type { LossAuditReport } from '../../eval/audit-loss.js';

/** Short names of the audited hypernetworks in the audit tables. */
const AUDITED: Record<string, string> = {
  'code2lora-static': 'Static',
  'code2lora-static-tests': 'Static + tests',
  'code2lora-static-tests-norm': 'Static + tests + norm',
  'code2lora-static-contrastive': 'Static + tests + norm + contrastive',
};

/** The conditioning audit's tables (METHOD.md section 4): every condition's score and own minus each. */
function auditSection(out: string): { md: string; rows: string[][]; diffRows: string[][]; notes: string[] } {
  const rows: string[][] = [],
    diffRows: string[][] = [],
    notes: string[] = [];
  const short = AUDITED;
  for (const id of Object.keys(short))
    for (const split of ['cr', 'ir'] as const) {
      const f = join(stageDir(out, `${id}:audit-${split}`), 'audit.json');
      if (!existsSync(join(stageDir(out, `${id}:audit-${split}`), 'stage.json')) || !existsSync(f)) continue;
      const a = JSON.parse(readFileSync(f, 'utf8')) as AuditReport;
      const name = `${short[id]}, ${split === 'cr' ? 'cross-repo' : 'in-repo'}`;
      for (const [c, s] of Object.entries(a.conditions))
        rows.push([name, c, ci(s.exactMatch), ci(s.editSimilarity), ci(s.perRepo.exactMatch)]);
      for (const [c, d] of Object.entries(a.ownMinus))
        diffRows.push([name, `own - ${c}`, ci(d.exactMatch), ci(d.editSimilarity), (100 * d.exactMatch.probAGreater).toFixed(0)]);
      notes.push(
        `${name} (${a.tasks} tasks, ${a.repos} repositories): adapter diversity: mean pairwise cosine ${a.diversity.meanPairwiseCosine.toFixed(4)} raw, ` +
          `${a.diversity.meanPairwiseCosineCentred.toFixed(4)} mean-centred; mean delta / mean delta norm ${a.diversity.meanDeltaShare.toFixed(4)}. **Verdict: ${a.verdict}**`,
      );
    }
  const md =
    rows.length === 0
      ? 'not run'
      : [
          "Each repository's own generated adapter against the exact mean of all generated adapters, a wrong repository's adapter (fixed derangement) and the zero-embedding adapter, on the same tasks. Code2LoRA is repository-specific only where own beats mean and wrong with the 95% interval of the difference above zero.",
          '',
          mdTable(['hypernetwork, split', 'condition', 'EM', 'ES', 'EM per repository'], rows),
          '',
          mdTable(['hypernetwork, split', 'paired difference', 'EM (pp)', 'ES (pp)', 'P(own better) %'], diffRows),
          '',
          ...notes.map((n) => `- ${n}`),
        ].join('\n');
  return { md, rows, diffRows, notes };
}

/** The loss audit's tables: target loss per condition and (condition - own) with its interval. */
function lossAuditSection(out: string): { md: string; rows: string[][]; diffRows: string[][] } {
  const rows: string[][] = [],
    diffRows: string[][] = [];
  const f = (x: number) => x.toFixed(4);
  const fi = (i: Interval) => `${f(i.estimate)} [${f(i.lo)}, ${f(i.hi)}]`;
  const where = { cr: 'cross-repo test', ir: 'in-repo test', train: 'training tasks of the sample' };
  for (const [id, short] of Object.entries(AUDITED))
    for (const split of ['cr', 'ir', 'train'] as const) {
      const d = stageDir(out, `${id}:audit-loss-${split}`);
      if (!existsSync(join(d, 'stage.json')) || !existsSync(join(d, 'audit-loss.json'))) continue;
      const a = JSON.parse(readFileSync(join(d, 'audit-loss.json'), 'utf8')) as LossAuditReport;
      const name = `${short}, ${where[split]} (${a.tasks} tasks, ${a.repos} repos)`;
      for (const [c, v] of Object.entries(a.conditions)) rows.push([name, c, fi(v.perTask), fi(v.perRepo)]);
      for (const [c, g] of Object.entries(a.gainOverOwn))
        diffRows.push([name, `${c} - own`, fi(g), (100 * g.probAGreater).toFixed(0), g === a.gainOverOwn.mean ? a.verdict : '']);
    }
  const md =
    rows.length === 0
      ? 'not run'
      : [
          'Teacher-forced target-token cross-entropy (nats/token, lower is better) of the same tasks under each condition; (condition - own) above zero means the own adapter fits its repository better. The loss sees a repository-specific shift long before greedy exact match flips.',
          '',
          mdTable(['hypernetwork, tasks', 'condition', 'loss per task', 'loss per repository'], rows),
          '',
          mdTable(['hypernetwork, tasks', 'difference', 'nats/token', 'P(own better) %', 'verdict'], diffRows),
        ].join('\n');
  return { md, rows, diffRows };
}

interface LossFile {
  tasks: number;
  skipped: number;
  perTask: Interval;
  perRepo: Interval;
  results: { id: string; repo: string; loss: number }[];
}

/** The teacher-forced target loss of every method without retrieval, and the headroom of repository
 *  conditioning on this base: shared LoRA minus per-repo LoRA on the same in-repo tasks. */
function lossSection(out: string, methods: readonly MethodSpec[], samples: number, seed: number): { md: string; rows: string[][] } {
  const read = (id: string, split: EvalSplit): LossFile | null => {
    const d = stageDir(out, `${id}:loss-${split}`);
    return existsSync(join(d, 'stage.json')) && existsSync(join(d, 'loss.json'))
      ? (JSON.parse(readFileSync(join(d, 'loss.json'), 'utf8')) as LossFile)
      : null;
  };
  const f = (i: Interval) => `${i.estimate.toFixed(3)} [${i.lo.toFixed(3)}, ${i.hi.toFixed(3)}]`;
  const cell = (x: LossFile | null, k: 'perTask' | 'perRepo', has: boolean) => (!has ? '—' : x ? f(x[k]) : 'not run');
  const rows = methods
    .filter((m) => !m.rag)
    .map((m) => {
      const cr = read(m.id, 'cr'),
        ir = read(m.id, 'ir');
      const hc = m.splits.includes('cr'),
        hi = m.splits.includes('ir');
      return [m.label, cell(cr, 'perTask', hc), cell(cr, 'perRepo', hc), cell(ir, 'perTask', hi), cell(ir, 'perRepo', hi)];
    });
  if (rows.every((r) => r.slice(1).every((c) => c === 'not run' || c === '—'))) return { md: 'not run', rows };
  const lines = [
    `Target-token cross-entropy (nats/token, lower is better), teacher forced, sequences cut to ${LOSS_MAX_TOKENS} tokens as in training; 95% repository-bootstrap CIs.`,
    '',
    mdTable(['method', 'CR loss per task', 'CR per repository', 'IR loss per task', 'IR per repository'], rows),
  ];
  const shared = read('shared-lora', 'ir'),
    perRepo = read('per-repo-lora', 'ir');
  if (shared && perRepo) {
    const byId = new Map(perRepo.results.map((r) => [r.id, r.loss]));
    const both = shared.results.filter((r) => byId.has(r.id));
    const d = bootstrapDiff(
      both.map((r) => r.loss),
      both.map((r) => byId.get(r.id)!),
      { groups: both.map((r) => r.repo), seed, samples },
    );
    lines.push(
      '',
      `Headroom of repository conditioning on this base (same ${both.length} in-repo tasks): shared LoRA minus per-repo LoRA = ${f(d)} nats/token. A hypernetwork that generated each repository's per-repo LoRA would gain at most about this much over one shared adapter.`,
    );
  }
  return { md: lines.join('\n'), rows };
}

export interface ReportInputs {
  command: string;
  config: Readonly<BenchStaticConfig>;
  stages: Stage[];
  tasksDir: string;
  modelDir: string;
  baseHash: string;
  methods?: readonly MethodSpec[];
}

interface Cell {
  perTask: { em: Interval; es: Interval };
  perRepo: { em: Interval; es: Interval };
  report: EvalReport & { label: string };
}

const pct = (x: number) => (100 * x).toFixed(1);
const ci = (i: Interval) => `${pct(i.estimate)} [${pct(i.lo)}, ${pct(i.hi)}]`;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function loadCell(out: string, name: string, samples: number, seed: number): Cell | null {
  const f = join(stageDir(out, name), 'eval.json');
  if (!existsSync(join(stageDir(out, name), 'stage.json')) || !existsSync(f)) return null;
  const report = JSON.parse(readFileSync(f, 'utf8')) as EvalReport & { label: string };
  const rs: TaskResult[] = report.results;
  const groups = rs.map((r) => r.repo);
  const opts = { samples, seed };
  return {
    report,
    perTask: { em: report.exactMatch, es: report.editSimilarity },
    perRepo: {
      em: bootstrapGroupMean(
        rs.map((r) => r.exact),
        groups,
        opts,
      ),
      es: bootstrapGroupMean(
        rs.map((r) => r.edit),
        groups,
        opts,
      ),
    },
  };
}

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

function htmlTable(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

/** EM by the task's own prompt length (retrieved tokens not counted), in fixed bins. */
function emByLength(rs: TaskResult[]): Array<[number, number]> {
  const edges = [0, 64, 128, 192, 256, 320, 384, 448, Infinity];
  const pts: Array<[number, number]> = [];
  for (let b = 0; b + 1 < edges.length; b++) {
    const inBin = rs.filter((r) => {
      const n = (r.promptTokens ?? 0) - (r.retrievedTokens ?? 0);
      return n >= edges[b]! && n < edges[b + 1]!;
    });
    if (inBin.length >= 5) pts.push([Math.min(edges[b]! + 32, 480), (100 * inBin.reduce((a, r) => a + r.exact, 0)) / inBin.length]);
  }
  return pts;
}

export function writeReport(out: string, inp: ReportInputs): string[] {
  const methods = inp.methods ?? METHODS;
  const { bootstrapSamples: samples } = inp.config.eval;
  const seed = inp.config.seed;
  const cells = new Map<string, Cell | null>();
  for (const m of methods)
    for (const s of ['cr', 'ir'] as EvalSplit[])
      cells.set(`${m.id}:${s}`, m.splits.includes(s) ? loadCell(out, `${m.id}:${s}`, samples, seed) : null);
  const cell = (m: MethodSpec, s: EvalSplit) => cells.get(`${m.id}:${s}`) ?? null;
  const show = (m: MethodSpec, s: EvalSplit, f: (c: Cell) => string) =>
    !m.splits.includes(s) ? '—' : cell(m, s) ? f(cell(m, s)!) : 'not run';
  const head = ['method', 'CR EM %', 'CR ES %', 'IR EM %', 'IR ES %'];
  const mainRows = (which: 'perTask' | 'perRepo') =>
    methods.map((m) => [
      m.label,
      show(m, 'cr', (c) => ci(c[which].em)),
      show(m, 'cr', (c) => ci(c[which].es)),
      show(m, 'ir', (c) => ci(c[which].em)),
      show(m, 'ir', (c) => ci(c[which].es)),
    ]);
  const ctxRows = methods.map((m) => [
    m.label,
    ...(['cr', 'ir'] as EvalSplit[]).flatMap((s) => [
      show(m, s, (c) => String(c.report.tasks)),
      show(m, s, (c) => c.report.promptTokensPerTask.toFixed(0)),
      show(m, s, (c) => c.report.retrievedTokensPerTask.toFixed(0)),
      show(m, s, (c) => ((1000 * c.report.results.reduce((a, r) => a + (r.seconds ?? 0), 0)) / c.report.results.length).toFixed(1)),
    ]),
  ]);
  const ctxHead = [
    'method',
    'CR tasks',
    'CR prompt tok',
    'CR retrieved tok',
    'CR ms/completion',
    'IR tasks',
    'IR prompt tok',
    'IR retrieved tok',
    'IR ms/completion',
  ];
  const families = [...new Set([...cells.values()].flatMap((c) => (c ? Object.keys(c.report.perFamily) : [])))].sort();
  const famRows = (s: EvalSplit) =>
    methods
      .filter((m) => m.splits.includes(s))
      .map((m) => [
        m.label,
        ...families.map((f) => {
          const c = cell(m, s);
          const x = c?.report.perFamily[f];
          return !c ? 'not run' : x ? `${pct(x.exactMatch)} (${x.tasks})` : '—';
        }),
      ]);
  const latencyDir = stageDir(out, 'latency');
  const latency: LatencyReport | null =
    existsSync(join(latencyDir, 'stage.json')) && existsSync(join(latencyDir, 'latency.json'))
      ? JSON.parse(readFileSync(join(latencyDir, 'latency.json'), 'utf8'))
      : null;
  const latHead = ['path', 'prompt tokens', 'of them retrieved', 'ms per completion (median)', 'p90 ms'];
  const latRows = latency
    ? latency.rows.map((r) => [
        r.method,
        r.promptTokens.toFixed(0),
        r.retrievedTokens.toFixed(0),
        r.msPerCompletion.toFixed(1),
        r.msP90.toFixed(1),
      ])
    : [];
  const records: StageRecord[] = inp.stages.map((s) => readStageRecord(stageDir(out, s.name))).filter((r): r is StageRecord => r !== null);
  const stageRows = inp.stages.map((s) => {
    const r = records.find((x) => x.stage === s.name);
    return [s.name, r ? (r.seconds / 60).toFixed(1) : 'not run', r ? r.finishedAt : '', r ? r.inputsHash.slice(0, 12) : ''];
  });
  const trainRows = inp.stages
    .filter((s) => s.name.endsWith(':train'))
    .map((s) => {
      const r = records.find((x) => x.stage === s.name);
      const sum = r?.summary as
        | { tokensSeen?: number; tokenBudget?: number; bestValLoss?: number[]; bestStep?: number[]; runs?: number }
        | undefined;
      const mode = s.name.split(':')[0] as keyof BenchStaticConfig['train'];
      const c = inp.config.train[mode];
      return [
        s.name,
        c
          ? `${c.steps} steps x ${c.reposPerStep} repo x ${c.tasksPerRepo} tasks x <= ${c.maxTokens} tokens${mode === 'per-repo-lora' ? ' (per repository)' : ''}`
          : '',
        sum?.tokenBudget !== undefined ? sum.tokenBudget.toLocaleString('en-US') : 'not run',
        sum?.tokensSeen !== undefined ? sum.tokensSeen.toLocaleString('en-US') : '',
        sum?.bestValLoss ? sum.bestValLoss.map((v) => v.toFixed(3)).join(', ') : '',
        sum?.bestStep ? sum.bestStep.join(', ') : '',
      ];
    });
  const trainHead = ['training stage', 'budget (config)', 'budget tokens', 'tokens seen', 'best val loss', 'best step'];
  const irNote =
    inp.config.perRepo.irOnSample && methods.some((m) => m.id === 'per-repo-lora')
      ? `In-repo (IR) rows of every method are evaluated on the same seeded sample of ${inp.config.perRepo.repos} training repositories as the per-repo LoRA (the only repositories with their own adapter); CR rows use the full cr-test split.`
      : 'IR rows use the full ir-test split.';
  const sampleNote =
    inp.config.eval.tasksPerRepo > 0
      ? ` Ablation setting: at most ${inp.config.eval.tasksPerRepo} tasks per repository (seeded sample), not the headline full splits.`
      : '';

  const audit = auditSection(out);
  const lossAudit = lossAuditSection(out);
  const loss = lossSection(out, methods, samples, inp.config.seed);
  const md = [
    '# RepoPeftBench static track: results',
    '',
    `Regenerate with \`${inp.command}\` (finished stages are reused; see the stage table). Base model \`${repoRelative(inp.modelDir)}\` (inputs hash ${inp.baseHash.slice(0, 12)}), tasks \`${inp.tasksDir}\`.`,
    `Exact match (EM) and edit similarity (ES) in %, 95% repository-bootstrap CIs (${samples} resamples). ${irNote}${sampleNote}`,
    '',
    '## Per task (every task weighs the same)',
    '',
    mdTable(head, mainRows('perTask')),
    '',
    "## Per repository (mean over repositories of each repository's mean)",
    '',
    'A few repositories hold a large share of the cross-repo test tasks, so the per-task average mostly measures them.',
    '',
    mdTable(head, mainRows('perRepo')),
    '',
    '## Conditioning audit of Code2LoRA-Static (METHOD.md section 4)',
    '',
    audit.md,
    '',
    '### The same audit on the target loss',
    '',
    lossAudit.md,
    '',
    '## Target loss',
    '',
    loss.md,
    '',
    '## Context and latency in the evaluation runs',
    '',
    `Prompt tokens per task (retrieved ones included) and wall time per completion at batch ${inp.config.eval.batch} (batch time / batch size, retrieval included).`,
    '',
    mdTable(ctxHead, ctxRows),
    '',
    '## Exact match by family (%, tasks in parentheses)',
    '',
    '### Cross-repo',
    '',
    families.length ? mdTable(['method', ...families], famRows('cr')) : 'not run',
    '',
    '### In-repo',
    '',
    families.length ? mdTable(['method', ...families], famRows('ir')) : 'not run',
    '',
    '## Latency: the same prompt with retrieval or with an adapter',
    '',
    latency
      ? `Batch 1, ${latency.newTokens} new tokens per completion, ${latency.tasks} cr-test tasks; each task's prompt is cut to ${inp.config.latency.promptTokens} tokens and RAG adds up to ${latency.retrievalBudget} retrieved tokens (the most this base's context allows). RAG / adapter latency: **${latency.ragOverAdapter.toFixed(2)}x**.`
      : 'not run',
    '',
    latency ? mdTable(latHead, latRows) : '',
    '',
    '## Training budgets',
    '',
    'Shared LoRA, full fine-tune and Code2LoRA-Static train on the same token budget (steps x sequences x 256 tokens); per-repo LoRA has its own small budget per repository.',
    '',
    mdTable(trainHead, trainRows),
    '',
    '## Stages',
    '',
    mdTable(['stage', 'wall time (min)', 'finished', 'inputs hash'], stageRows),
    '',
  ].join('\n');

  const emGroups: BarGroup[] = methods.map((m) => ({
    label: m.id,
    bars: (['cr', 'ir'] as EvalSplit[])
      .filter((s) => cell(m, s))
      .map((s) => {
        const e = cell(m, s)!.perTask.em;
        return { label: s === 'cr' ? 'cross-repo' : 'in-repo', value: 100 * e.estimate, lo: 100 * e.lo, hi: 100 * e.hi };
      }),
  }));
  const famGroups: BarGroup[] = families.map((f) => ({
    label: f,
    bars: methods
      .filter((m) => cell(m, 'cr')?.report.perFamily[f])
      .map((m) => ({ label: m.label, value: 100 * cell(m, 'cr')!.report.perFamily[f]!.exactMatch })),
  }));
  const lengthSeries = methods
    .filter((m) => cell(m, 'cr'))
    .map((m) => ({ label: m.label, points: emByLength(cell(m, 'cr')!.report.results) }))
    .filter((s) => s.points.length > 0);
  const plots = [
    barChartSvg(emGroups, { title: 'Exact match per method (95% repository-bootstrap CI)', yLabel: 'exact match %', minTop: 5 }),
    famGroups.length
      ? barChartSvg(famGroups, { title: 'Cross-repo exact match per assertion family', yLabel: 'exact match %', minTop: 5 })
      : '',
    lengthSeries.length
      ? lineChartSvg(lengthSeries, {
          title: 'Cross-repo exact match by prompt length (own prefix tokens)',
          xLabel: 'prompt tokens (bin centre)',
          yLabel: 'exact match %',
        })
      : '',
  ].filter(Boolean);
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>RepoPeftBench static track</title>
<style>body{font-family:sans-serif;margin:24px;max-width:1200px;color:#222}table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}th{background:#f3f3f3}svg{display:block;margin:12px 0}code{background:#f3f3f3;padding:1px 4px}</style>
</head><body>
<h1>RepoPeftBench static track: results</h1>
<p>Regenerate with <code>${esc(inp.command)}</code>. EM / ES in %, 95% repository-bootstrap CIs (${samples} resamples). ${esc(irNote + sampleNote)}</p>
${plots.join('\n')}
<h2>Per task</h2>${htmlTable(head, mainRows('perTask'))}
<h2>Per repository</h2>${htmlTable(head, mainRows('perRepo'))}
<h2>Conditioning audit of Code2LoRA-Static</h2>${audit.rows.length ? htmlTable(['split', 'condition', 'EM', 'ES', 'EM per repository'], audit.rows) + htmlTable(['split', 'paired difference', 'EM (pp)', 'ES (pp)', 'P(own better) %'], audit.diffRows) + audit.notes.map((n) => `<p>${esc(n.replace(/\*\*/g, ''))}</p>`).join('') : '<p>not run</p>'}
<h3>The same audit on the target loss</h3>${lossAudit.rows.length ? htmlTable(['hypernetwork, tasks', 'condition', 'loss per task', 'loss per repository'], lossAudit.rows) + htmlTable(['hypernetwork, tasks', 'difference', 'nats/token', 'P(own better) %', 'verdict'], lossAudit.diffRows) : '<p>not run</p>'}
<h2>Target loss</h2>${loss.rows.length && loss.md !== 'not run' ? htmlTable(['method', 'CR loss per task', 'CR per repository', 'IR loss per task', 'IR per repository'], loss.rows) : '<p>not run</p>'}
<h2>Context and latency in the evaluation runs</h2>${htmlTable(ctxHead, ctxRows)}
<h2>Exact match by family (cross-repo)</h2>${families.length ? htmlTable(['method', ...families], famRows('cr')) : '<p>not run</p>'}
<h2>Exact match by family (in-repo)</h2>${families.length ? htmlTable(['method', ...families], famRows('ir')) : '<p>not run</p>'}
<h2>Latency: the same prompt with retrieval or with an adapter</h2>${latency ? `<p>RAG / adapter latency: <b>${latency.ragOverAdapter.toFixed(2)}x</b> (batch 1, ${latency.newTokens} new tokens, up to ${latency.retrievalBudget} retrieved tokens).</p>${htmlTable(latHead, latRows)}` : '<p>not run</p>'}
<h2>Training budgets</h2>${htmlTable(trainHead, trainRows)}
<h2>Stages</h2>${htmlTable(['stage', 'wall time (min)', 'finished', 'inputs hash'], stageRows)}
</body></html>
`;
  const files = [join(out, 'README.md'), join(out, 'report.html')];
  writeFileAtomicSync(files[0]!, md);
  writeFileAtomicSync(files[1]!, html);
  return files;
}
