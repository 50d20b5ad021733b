// The evolution-track report from the stage artefacts: README.md (the table, the Evo audit, stage
// wall times, the repositories and HEAD commits of repos.json) and report.html (the same tables and
// the plots of exact match and target loss against commit index). Stages that have not run show as
// "not run", never as a number.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Interval } from '../../eval/bootstrap.js';
import { writeFileAtomicSync } from '../../util/atomic.js';
import { lineChartSvg, type Series } from '../../util/svg-plot.js';
import { readStageRecord, stageDir } from '../stage-cache.js';
import type { BenchEvoConfig } from './config.js';
import { EVO_METHODS, EVO_SPLITS, SPLIT_FILE, type EvalSplit, type EvoAuditReport, type EvoEvalReport, type EvoMethod } from './stages.js';

export interface EvoReportInputs {
  command: string;
  config: Readonly<BenchEvoConfig>;
  stages: readonly { name: string }[];
  methods?: readonly EvoMethod[];
}

const pct = (x: number) => (100 * x).toFixed(1);
const ci = (i: Interval) => `${pct(i.estimate)} [${pct(i.lo)}, ${pct(i.hi)}]`;
const ciLoss = (i: Interval) => `${i.estimate.toFixed(3)} [${i.lo.toFixed(3)}, ${i.hi.toFixed(3)}]`;
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const SPLIT_NAME: Record<EvalSplit, string> = { cr: 'cross-repo test', ir: 'in-repo test' };

function mdTable(head: string[], rows: string[][]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
function htmlTable(head: string[], rows: string[][]): string {
  return `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead><tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`).join('')}</tbody></table>`;
}

function readJson<T>(out: string, stage: string, file: string): T | null {
  const d = stageDir(out, stage);
  if (!existsSync(join(d, 'stage.json')) || !existsSync(join(d, file))) return null;
  return JSON.parse(readFileSync(join(d, file), 'utf8')) as T;
}

/** Mean of `value` over tasks binned by commit index (bins of equal width, at most 16). */
export function byCommitIndex(rows: { commitIndex: number }[], value: (i: number) => number | null): Array<[number, number]> {
  if (rows.length === 0) return [];
  const lo = Math.min(...rows.map((r) => r.commitIndex)),
    hi = Math.max(...rows.map((r) => r.commitIndex));
  const w = Math.max(1, Math.ceil((hi - lo + 1) / 16));
  const acc = new Map<number, { s: number; n: number }>();
  rows.forEach((r, i) => {
    const v = value(i);
    if (v === null) return;
    const b = lo + Math.floor((r.commitIndex - lo) / w) * w;
    const e = acc.get(b) ?? { s: 0, n: 0 };
    e.s += v;
    e.n++;
    acc.set(b, e);
  });
  return [...acc.entries()].sort(([a], [b]) => a - b).map(([b, e]) => [b + (w - 1) / 2, e.s / e.n]);
}

export function writeEvoReport(out: string, inp: EvoReportInputs): string[] {
  const methods = inp.methods ?? EVO_METHODS;
  const cells = new Map<string, EvoEvalReport | null>();
  for (const m of methods) for (const s of EVO_SPLITS) cells.set(`${m.id}:${s}`, readJson<EvoEvalReport>(out, `${m.id}:${s}`, 'eval.json'));
  const show = (m: EvoMethod, s: EvalSplit, f: (c: EvoEvalReport) => string) => {
    const c = cells.get(`${m.id}:${s}`);
    return c ? f(c) : 'not run';
  };
  const head = ['method', 'CR EM %', 'CR ES %', 'CR loss', 'IR EM %', 'IR ES %', 'IR loss'];
  const rowsOf = (which: 'task' | 'repo') =>
    methods.map((m) => [
      m.label,
      ...EVO_SPLITS.flatMap((s) => [
        show(m, s, (c) => ci(which === 'task' ? c.exactMatch : c.perRepo.exactMatch)),
        show(m, s, (c) => ci(which === 'task' ? c.editSimilarity : c.perRepo.editSimilarity)),
        show(m, s, (c) => {
          const l = which === 'task' ? c.loss : c.perRepo.loss;
          return l ? ciLoss(l) : '—';
        }),
      ]),
    ]);
  const mainRows = rowsOf('task'),
    repoRows = rowsOf('repo');
  const countRows = EVO_SPLITS.map((s) => {
    const c = methods.map((m) => cells.get(`${m.id}:${s}`)).find((x) => x);
    return [
      SPLIT_NAME[s],
      c ? String(c.tasks) : 'not run',
      c ? String(c.repos) : '',
      c ? String(c.commits) : '',
      c ? String(c.lossTasks) : '',
    ];
  });

  // the audit
  const audits = EVO_SPLITS.map((s) => ({ s, a: readJson<EvoAuditReport>(out, `code2lora-evo:audit-${s}`, 'audit.json') }));
  const auditRows: string[][] = [],
    auditDiffRows: string[][] = [],
    verdicts: string[] = [];
  for (const { s, a } of audits) {
    if (!a) continue;
    const name = `${SPLIT_NAME[s]} (${a.tasks} tasks, ${a.repos} repos)`;
    for (const [c, v] of Object.entries(a.conditions)) auditRows.push([name, c, ci(v.exactMatch), v.loss ? ciLoss(v.loss) : '—']);
    for (const [c, d] of Object.entries(a.ownMinus))
      auditDiffRows.push([
        name,
        `own - ${c}`,
        ci(d.exactMatch),
        (100 * d.exactMatch.probAGreater).toFixed(0),
        d.loss ? `${d.loss.estimate.toFixed(4)} [${d.loss.lo.toFixed(4)}, ${d.loss.hi.toFixed(4)}]` : '—',
        d.loss ? (100 * (1 - d.loss.probAGreater)).toFixed(0) : '—',
      ]);
    verdicts.push(`${name}: ${a.verdict}`);
  }
  const auditHead = ['split', 'condition', 'EM %', 'target loss (nats/token)'];
  const diffHead = [
    'split',
    'paired difference',
    'EM (pp)',
    'P(own EM higher) %',
    'loss (nats/token; < 0 favours own)',
    'P(own loss lower) %',
  ];

  // plots: EM and loss against commit index, one series per method
  mkdirSync(join(out, 'plots'), { recursive: true });
  const plots: { file: string; svg: string }[] = [];
  for (const s of EVO_SPLITS) {
    for (const [what, val, unit] of [
      ['em', (r: EvoEvalReport['results'][number]) => 100 * r.exact, 'exact match %'],
      ['loss', (r: EvoEvalReport['results'][number]) => r.loss, 'target loss (nats/token)'],
    ] as const) {
      const series: Series[] = [];
      for (const m of methods) {
        const c = cells.get(`${m.id}:${s}`);
        if (!c) continue;
        const pts = byCommitIndex(c.results, (i) => val(c.results[i]!));
        if (pts.length) series.push({ label: m.label, points: pts });
      }
      if (series.length === 0) continue;
      const file = `plots/${what}-by-commit-${s}.svg`;
      const svg = lineChartSvg(series, {
        title: `${SPLIT_FILE[s]}: ${unit} by commit index`,
        xLabel: "commit index (kept commits of the task's repository, binned)",
        yLabel: unit,
      });
      writeFileAtomicSync(join(out, file), svg);
      plots.push({ file, svg });
    }
  }

  // stage wall times
  const stageRows = inp.stages.map((s) => {
    const rec = readStageRecord(stageDir(out, s.name));
    return [s.name, rec ? rec.seconds.toFixed(1) : 'not run', rec ? rec.finishedAt : ''];
  });
  const totalMin = inp.stages.reduce((a, s) => a + (readStageRecord(stageDir(out, s.name))?.seconds ?? 0), 0) / 60;

  // repositories and HEAD commits (repos.json, written when the track was selected)
  let reposRows: string[][] = [];
  const reposFile = join(out, 'repos.json');
  if (existsSync(reposFile)) {
    const rj = JSON.parse(readFileSync(reposFile, 'utf8')) as {
      repositories?: { repo: string; url?: string; head?: string; keptCommits?: number; tasks?: number; role?: string }[];
    };
    reposRows = (rj.repositories ?? []).map((r) => [
      r.repo,
      r.role ?? '',
      (r.head ?? '').slice(0, 12),
      String(r.keptCommits ?? ''),
      String(r.tasks ?? ''),
    ]);
  }
  const evoTrain = readStageRecord(stageDir(out, 'code2lora-evo:train'))?.summary as Record<string, number> | undefined;
  const loraTrain = readStageRecord(stageDir(out, 'shared-lora:train'))?.summary as Record<string, number> | undefined;
  const trainLines = [
    loraTrain
      ? `- Shared LoRA: best cr-val loss ${loraTrain.bestValLoss?.toFixed?.(4)} at step ${loraTrain.bestStep}; ${loraTrain.tokensSeen?.toLocaleString('en-US')} tokens seen of a ${loraTrain.tokenBudget?.toLocaleString('en-US')} budget.`
      : '- Shared LoRA: not run.',
    evoTrain
      ? `- Code2LoRA-Evo: best cr-val loss ${evoTrain.bestValLoss?.toFixed?.(4)} at step ${evoTrain.bestStep} (base without adapter ${evoTrain.baseValLoss?.toFixed?.(4)}; the same checkpoint with its state frozen at h0 ${evoTrain.frozenStateValLoss?.toFixed?.(4)}); ${evoTrain.tokensSeen?.toLocaleString('en-US')} tokens seen of a ${evoTrain.tokenBudget?.toLocaleString('en-US')} budget.`
      : '- Code2LoRA-Evo: not run.',
  ];

  const cfg = inp.config;
  const intro = [
    `Each row scored on the evolution track's cross-repo test (CR: held-out repositories, every kept commit) and in-repo test (IR: the last 10% of each training repository's kept commits) tasks: greedy exact match (EM) and edit similarity (ES), per task, with 95% repository-bootstrap intervals (${cfg.eval.bootstrapSamples} resamples of whole repositories), and the teacher-forced target loss (nats per target token, sequences capped at ${cfg.eval.lossMaxTokens} tokens; tasks whose target does not fit are left out of the loss only).`,
    '',
    '- **Pretrained**: the base, no adapter.',
    "- **Single shared LoRA**: one LoRA trained on the track's training tasks, the same token budget as Evo, cr-val loss choosing the checkpoint.",
    "- **Code2LoRA-Static (re-embedded at each commit)**: the shipped Static hypernetwork applied to the repository's tree at the task's commit (production .py files; the per-file embedding cache means only files changed since an earlier commit are embedded again).",
    "- **Code2LoRA-Evo**: `evo train` with the configured Evo config, head initialised from the Static hypernetwork; each test repository is replayed from its first kept commit (h0 from that snapshot, one GRU step per kept commit on its stored diff) and each commit's tasks are scored with that commit's adapter. For IR the state is carried through the repository's training and validation commits up to the test commits.",
  ].join('\n');
  const md = [
    '# Code2LoRA-Evo: the evolution-track table',
    '',
    `Generated by \`code2lora bench evo-track\` from the stage artefacts in \`stages/\`. The track (repositories, selection, build commands) is described in [TRACK.md](TRACK.md); its repositories and HEAD commits are in \`repos.json\`.`,
    '',
    '```sh',
    inp.command,
    '```',
    '',
    intro,
    '',
    '## The table',
    '',
    mdTable(head, mainRows),
    '',
    'Per-repository averages (each repository weighs the same):',
    '',
    mdTable(head, repoRows),
    '',
    mdTable(['split', 'tasks', 'repositories', 'commits', 'tasks in the loss'], countRows),
    '',
    '## Training',
    '',
    ...trainLines,
    '',
    '## The Evo conditioning audit',
    '',
    "The same tasks scored with the repository's own state at the task's commit (the table's Evo row), the **mean** state (the mean over the split's repositories of each one's state at the same relative position in its history: commit t of n maps to index round(t/(n-1) x (m-1)) of a history of m), **another repository's** state at that position (a fixed derangement of the sorted repositories) and the state **frozen** at h0 (the repository's own initial state, no commit applied). Own minus each: paired over the same tasks, repository bootstrap. Evo follows the repository's history only where own beats frozen; it is repository-specific only where own beats mean and wrong.",
    '',
    auditRows.length ? mdTable(auditHead, auditRows) : 'not run',
    '',
    auditDiffRows.length ? mdTable(diffHead, auditDiffRows) : '',
    '',
    ...verdicts.map((v) => `- Verdict, ${v}`),
    '',
    '## Exact match and loss against commit index',
    '',
    plots.length ? plots.map((p) => `![${p.file}](${p.file})`).join('\n') : 'not run',
    '',
    '## Stage wall times',
    '',
    mdTable(['stage', 'seconds', 'finished'], stageRows),
    '',
    `Total ${totalMin.toFixed(1)} min.`,
    '',
    '## Repositories and HEAD commits',
    '',
    reposRows.length ? mdTable(['repository', 'role', 'HEAD', 'kept commits', 'tasks'], reposRows) : 'repos.json not found',
    '',
  ].join('\n');
  const html = [
    '<!doctype html><html><head><meta charset="utf-8"><title>Code2LoRA-Evo: evolution-track table</title>',
    '<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:13px}</style></head><body>',
    '<h1>Code2LoRA-Evo: the evolution-track table</h1>',
    `<pre>${esc(inp.command)}</pre>`,
    '<h2>The table</h2>',
    htmlTable(head, mainRows),
    '<p>Per-repository averages:</p>',
    htmlTable(head, repoRows),
    htmlTable(['split', 'tasks', 'repositories', 'commits', 'tasks in the loss'], countRows),
    '<h2>Training</h2>',
    `<ul>${trainLines.map((l) => `<li>${esc(l.slice(2))}</li>`).join('')}</ul>`,
    '<h2>The Evo conditioning audit</h2>',
    auditRows.length ? htmlTable(auditHead, auditRows) + htmlTable(diffHead, auditDiffRows) : '<p>not run</p>',
    `<ul>${verdicts.map((v) => `<li>${esc(v)}</li>`).join('')}</ul>`,
    '<h2>Exact match and loss against commit index</h2>',
    ...plots.map((p) => p.svg),
    '<h2>Stage wall times</h2>',
    htmlTable(['stage', 'seconds', 'finished'], stageRows),
    '<h2>Repositories and HEAD commits</h2>',
    reposRows.length ? htmlTable(['repository', 'role', 'HEAD', 'kept commits', 'tasks'], reposRows) : '<p>repos.json not found</p>',
    '</body></html>',
  ].join('\n');
  writeFileAtomicSync(join(out, 'README.md'), md);
  writeFileAtomicSync(join(out, 'report.html'), html);
  return [join(out, 'README.md'), join(out, 'report.html'), ...plots.map((p) => join(out, p.file))];
}
