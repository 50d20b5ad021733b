// `code2lora tasks build|evo`: thin actions over buildStaticTasks / buildEvoTasks (src/data/).
import type { Command } from 'commander';
import { buildStaticTasks, defaultBuildConfig, legacyBuildConfig } from '../../data/tasks/build.js';
import { noSelectConfig } from '../../data/tasks/select.js';
import { buildEvoTasks, defaultEvoConfig } from '../../data/evo/build.js';
import type { SplitConfig } from '../../data/tasks/splits.js';
import type { TaskStats } from '../../data/tasks/stats.js';
import { FAMILIES, RULE_SETS, STATIC_SPLITS, type RuleSet } from '../../data/tasks/types.js';
import { loadTokenizer } from '../../tokenizer/tokenizer.js';
import { progressBar, type Progress } from '../progress.js';
import { emitJson, intFlag, type JsonFlag } from '../flags.js';

const int = intFlag;

function num(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a number >= 0, got "${v}"`);
    return n;
  };
}

interface SplitFlags {
  seed: number;
  crTest: number;
  crVal: number;
  irVal: number;
  irTest: number;
}

function splitFlags(cmd: Command, d: SplitConfig): Command {
  return cmd
    .option('--seed <n>', 'seed for every split and sample', int('--seed', 0), d.seed)
    .option('--cr-test <x>', 'cross-repo test repositories: a fraction (< 1) or a count', num('--cr-test'), d.crTest)
    .option('--cr-val <x>', 'cross-repo validation repositories: a fraction (< 1) or a count', num('--cr-val'), d.crVal)
    .option('--ir-val <f>', 'in-repo validation share of each training repository', num('--ir-val'), d.irVal)
    .option('--ir-test <f>', 'in-repo test share of each training repository', num('--ir-test'), d.irTest)
    .option('--tokenizer <path>', 'tokenizer.json (or its folder) to report median lengths in tokens too')
    .option('--json [file]', 'the statistics as JSON: written to FILE, or printed on stdout (instead of text) when no file is given');
}

function toSplit(o: SplitFlags): SplitConfig {
  return { seed: o.seed, crTest: o.crTest, crVal: o.crVal, irVal: o.irVal, irTest: o.irTest };
}

function tokenCounter(file: string | undefined): ((s: string) => number) | undefined {
  if (!file) return undefined;
  const tok = loadTokenizer(file);
  return (s) => tok.encode(s).length;
}

function printStats(s: TaskStats, extra: string[]): void {
  const lines = [
    `repositories: ${Object.entries(s.repos)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  ];
  lines.push(`tasks: ${[...STATIC_SPLITS, 'total'].map((k) => `${k} ${s.tasks[k] ?? 0}`).join(', ')}`);
  lines.push(`families: ${FAMILIES.map((f) => `${f} ${s.families[f]}`).join(', ')}`);
  const m = s.median;
  lines.push(
    `median prefix ${m.prefixChars} chars, target ${m.targetChars} chars` +
      (m.prefixTokens !== undefined ? `; ${m.prefixTokens} / ${m.targetTokens} tokens (sample ${m.tokenSample})` : ''),
  );
  process.stdout.write(`${[...lines, ...extra].join('\n')}\n`);
}

export function register(program: Command): void {
  const tasks = program.command('tasks').description('Build assertion-completion tasks (static and evolution tracks)');
  const b = defaultBuildConfig();
  splitFlags(
    tasks
      .command('build')
      .description(
        "Static track: tasks from every project of a corpus (the released builder's rules), split CR/IR, balanced selection per repository, JSONL per split + stats.json",
      )
      .option('--corpus <dir>', 'corpus folder (holding manifest.json)', b.corpusDir)
      .option('--out <dir>', 'output folder', b.outDir)
      .option('--only <names...>', 'only these projects (manifest names)')
      .option(
        '--rules <set>',
        `extraction rules: ${RULE_SETS.join(" (default: the paper's released builder) or ")} (this project's earlier rules)`,
        b.extract.rules,
      )
      .option(
        '--max-per-function <n>',
        'selection: most tasks per test function (0 = no cap)',
        int('--max-per-function', 0),
        b.select.maxPerFunction,
      )
      .option('--max-per-file <n>', 'selection: most tasks per test file (0 = no cap)', int('--max-per-file', 0), b.select.maxPerFile)
      .option(
        '--max-per-repo <n>',
        'selection: most tasks per repository, allotted across target kinds (0 = no cap)',
        int('--max-per-repo', 0),
        b.select.maxPerRepo,
      )
      .option('--no-select', 'keep every extracted task (no caps, no (file, target) deduplication)')
      .option('--legacy', 'the earlier behaviour, for comparison: --rules legacy --no-select', false)
      .option(
        '--max-target-chars <n>',
        'legacy rules: drop longer targets (0 = keep all)',
        int('--max-target-chars', 0),
        b.extract.filter.maxTargetChars,
      ),
    b.split,
  ).action(
    async (
      o: SplitFlags & {
        corpus: string;
        out: string;
        only?: string[];
        rules: string;
        maxPerFunction: number;
        maxPerFile: number;
        maxPerRepo: number;
        select: boolean;
        legacy: boolean;
        maxTargetChars: number;
        tokenizer?: string;
        json: JsonFlag;
      },
    ) => {
      if (!RULE_SETS.includes(o.rules as RuleSet)) throw new Error(`--rules must be one of ${RULE_SETS.join(', ')}, got "${o.rules}"`);
      if (o.legacy && o.rules !== b.extract.rules && o.rules !== 'legacy')
        throw new Error(`--legacy means --rules legacy; got --rules ${o.rules}`);
      const base = o.legacy ? legacyBuildConfig() : b;
      const rules: RuleSet = o.legacy ? 'legacy' : (o.rules as RuleSet);
      const select =
        o.legacy || !o.select ? noSelectConfig() : { maxPerFunction: o.maxPerFunction, maxPerFile: o.maxPerFile, maxPerRepo: o.maxPerRepo };
      const countTokens = tokenCounter(o.tokenizer);
      let bar: Progress | null = null;
      const r = await buildStaticTasks(
        {
          ...base,
          corpusDir: o.corpus,
          outDir: o.out,
          only: o.only ?? [],
          split: toSplit(o),
          select,
          extract: { ...base.extract, rules, filter: { maxTargetChars: o.maxTargetChars } },
        },
        {
          onProgress: (p) => {
            bar ??= progressBar('tasks build', p.total, ['tasks']);
            bar.update(p.done, { tasks: p.tasks });
          },
          onWarn: (m) => process.stderr.write(`code2lora: ${m}\n`),
        },
        countTokens ? { countTokens } : {},
      );
      (bar as Progress | null)?.stop();
      if (!emitJson(o.json, { outDir: r.outDir, files: r.files, seconds: r.seconds, ...r.stats, skippedExamples: r.skippedExamples })) {
        const extra = [
          `refused by the extraction rules (${rules}): ${Object.entries(r.stats.dropped ?? {})
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        ];
        const sel = r.stats.selection;
        if (sel)
          extra.push(
            `selection: ${sel.extracted.total} extracted, removed ${Object.entries(sel.removed)
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
          );
        extra.push(
          `files: ${r.stats.files?.read}/${r.stats.files?.test} test files read; ${r.seconds.toFixed(1)} s; written to ${r.outDir}`,
        );
        printStats(r.stats, extra);
      }
    },
  );

  const e = defaultEvoConfig();
  splitFlags(
    tasks
      .command('evo')
      .description("Evolution track: tasks from local git repositories' first-parent history, split chronologically")
      .requiredOption('--repo <paths...>', 'local git repositories')
      .option('--out <dir>', 'output folder', e.outDir)
      .option('--rev <rev>', 'revision whose first-parent history is walked', e.rev)
      .option('--max-commits <n>', 'walk only the newest N first-parent commits (0 = all)', int('--max-commits', 0), e.maxCommits)
      .option('--max-tasks-per-commit <n>', 'most tasks kept per commit', int('--max-tasks-per-commit', 1), e.maxTasksPerCommit)
      .option('--max-diff-kb <n>', 'cut a commit diff beyond this size', int('--max-diff-kb', 1), e.maxDiffBytes / 1024)
      .option('--concurrency <n>', 'repositories walked at once', int('--concurrency', 1), e.concurrency),
    e.split,
  ).action(
    async (
      o: SplitFlags & {
        repo: string[];
        out: string;
        rev: string;
        maxCommits: number;
        maxTasksPerCommit: number;
        maxDiffKb: number;
        concurrency: number;
        tokenizer?: string;
        json: JsonFlag;
      },
    ) => {
      const countTokens = tokenCounter(o.tokenizer);
      const bar = progressBar('tasks evo', o.repo.length, ['repo', 'commits']);
      const finished = new Set<string>();
      const r = await buildEvoTasks(
        {
          ...e,
          repos: o.repo,
          outDir: o.out,
          rev: o.rev,
          maxCommits: o.maxCommits,
          maxTasksPerCommit: o.maxTasksPerCommit,
          maxDiffBytes: o.maxDiffKb * 1024,
          concurrency: o.concurrency,
          split: toSplit(o),
        },
        {
          onProgress: (p) => {
            if (p.done === p.total) finished.add(p.repo);
            bar.update(finished.size, { repo: p.repo, commits: `${p.done}/${p.total}` });
          },
          onWarn: (m) => process.stderr.write(`code2lora: ${m}\n`),
        },
        countTokens ? { countTokens } : {},
      );
      bar.stop();
      if (
        !emitJson(o.json, { outDir: r.outDir, files: r.files, seconds: r.seconds, ...r.stats, repoDetails: r.repos, skipped: r.skipped })
      ) {
        const extra = r.repos.map((x) => `  ${x.repo}: ${x.keptCommits}/${x.commitsWalked} commits kept, ${x.tasks} tasks (${x.role})`);
        for (const s of r.skipped) extra.push(`  skipped ${s.path}: ${s.reason}`);
        extra.push(
          `commits: ${Object.entries(r.stats.commits)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}; ${r.seconds.toFixed(1)} s; written to ${r.outDir}`,
        );
        printStats(r.stats, extra);
      }
      if (r.repos.length === 0) process.exitCode = 1;
    },
  );
}
