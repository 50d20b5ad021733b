// `code2lora corpus fetch|add`: thin actions over fetchCorpus / addToCorpus (src/data/corpus/).
import type { Command } from 'commander';
import { defaultFetchConfig, fetchCorpus, type FetchReport } from '../../data/corpus/fetch.js';
import { addToCorpus, defaultAddConfig, type AddResult } from '../../data/corpus/add.js';
import { readManifest } from '../../data/corpus/manifest.js';
import { readNameList } from '../../data/corpus/exclusions.js';
import { progressBar, type Progress } from '../progress.js';
import { emitJson, intFlag, jsonOnStdout, type JsonFlag } from '../flags.js';

const int = intFlag;

function printFetch(r: FetchReport): void {
  const mb = (r.downloadedBytes / 1e6).toFixed(1);
  const lines = [
    `kept ${r.accepted}/${r.requested} projects (tried ${r.tried} of ${r.candidates} candidates; ${r.reused} reused from the cache)`,
    `skipped: ${r.missing} not served (404), ${r.fewAssertions} with too few assertions, ${r.rejected.length} refused, ${r.errors.length} errors`,
    `downloaded ${mb} MB; index ${r.seconds.index.toFixed(1)} s, projects ${r.seconds.projects.toFixed(1)} s, total ${r.seconds.total.toFixed(1)} s`,
    `manifest: ${r.manifest}`,
  ];
  for (const x of [...r.rejected, ...r.errors].slice(0, 10)) lines.push(`  ${x.name}: ${x.reason}`);
  process.stdout.write(`${lines.join('\n')}\n`);
}

function printAdd(r: AddResult): void {
  for (const e of r.added)
    process.stdout.write(
      `added ${e.name} (${e.version}): ${e.testFiles} test files, ${e.assertions} assertions${e.testFiles === 0 ? ' (warning: no test files)' : ''}\n`,
    );
  for (const f of r.failed) process.stderr.write(`code2lora: corpus add ${f.path}: ${f.reason}\n`);
  process.stdout.write(`manifest: ${r.manifest}\n`);
}

export function register(program: Command): void {
  const corpus = program.command('corpus').description('Fetch and manage the corpus of Python projects with test suites');
  const d = defaultFetchConfig();

  corpus
    .command('fetch')
    .description('Download real Python projects with pytest suites from the Debian archive apt is configured for')
    .option('--count <n>', 'projects to keep', int('--count', 1), d.count)
    .option('--cache <dir>', 'cache folder (tarballs, projects, manifest.json)', d.cacheDir)
    .option('--seed <n>', 'seed for the order in which candidates are tried', int('--seed', 0), d.seed)
    .option('--suite <name>', 'Debian suite to read', d.suite)
    .option('--concurrency <n>', 'parallel downloads', int('--concurrency', 1), d.concurrency)
    .option(
      '--max-tarball-mb <n>',
      'largest upstream tarball considered, in MB',
      (v) => {
        const n = Number(v);
        if (!(n > 0)) throw new Error(`--max-tarball-mb must be a number > 0, got "${v}"`);
        return n;
      },
      d.maxTarballBytes / (1024 * 1024),
    )
    .option('--min-assertions <n>', 'drop projects whose tests hold fewer assertions', int('--min-assertions', 0), d.minAssertions)
    .option('--recheck', 'ask the archive again about tarballs an earlier run found missing or refused', false)
    .option(
      '--exclude-corpus <dirs...>',
      "never fetch the projects of these corpora (e.g. the benchmark's, when fetching extra pretraining data)",
    )
    .option('--exclude-names <files...>', 'never fetch projects named in these files (one name or repository URL per line)')
    .option('--json [file]', 'the report as JSON: written to FILE, or printed on stdout (instead of text) when no file is given')
    .action(
      async (o: {
        count: number;
        cache: string;
        seed: number;
        suite: string;
        concurrency: number;
        maxTarballMb: number;
        minAssertions: number;
        recheck: boolean;
        json: JsonFlag;
        excludeCorpus?: string[];
        excludeNames?: string[];
      }) => {
        let bar: Progress | null = null;
        const excludeNames: string[] = [];
        for (const dir of o.excludeCorpus ?? []) excludeNames.push(...(await readManifest(dir)).projects.map((p) => p.name));
        for (const f of o.excludeNames ?? []) excludeNames.push(...readNameList(f));
        const report = await fetchCorpus(
          {
            ...d,
            count: o.count,
            cacheDir: o.cache,
            seed: o.seed,
            suite: o.suite,
            concurrency: o.concurrency,
            maxTarballBytes: Math.round(o.maxTarballMb * 1024 * 1024),
            minAssertions: o.minAssertions,
            recheck: o.recheck,
            excludeNames,
          },
          {
            onProgress: (p) => {
              if (p.phase === 'index') {
                if (!jsonOnStdout(o.json)) process.stderr.write(`reading ${p.message}\n`);
                return;
              }
              if (bar && p.accepted >= p.target) return; // only in-flight downloads left
              bar ??= progressBar('corpus fetch', p.target, ['tried', 'MB']);
              bar.update(p.accepted, { tried: p.tried, MB: (p.bytes / 1e6).toFixed(1) });
            },
            onWarn: (m) => process.stderr.write(`code2lora: ${m}\n`),
          },
        );
        (bar as Progress | null)?.stop();
        if (!emitJson(o.json, report)) printFetch(report);
      },
    );

  corpus
    .command('add')
    .description('Add local folders or git repositories (their committed HEAD) to the corpus')
    .argument('<paths...>', 'folders or git repositories')
    .option('--cache <dir>', 'cache folder holding manifest.json', defaultAddConfig().cacheDir)
    .option('--name <name>', 'project name (only with one path; default: the folder name)')
    .option('--json [file]', 'the result as JSON: written to FILE, or printed on stdout (instead of text) when no file is given')
    .action(async (paths: string[], o: { cache: string; name?: string; json: JsonFlag }) => {
      const r = await addToCorpus(paths, { ...defaultAddConfig(), cacheDir: o.cache, name: o.name ?? null });
      if (!emitJson(o.json, r)) printAdd(r);
      if (r.added.length === 0) process.exitCode = 1;
    });
}
