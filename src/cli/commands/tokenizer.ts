// `code2lora tokenizer train|eval`: train a byte-level BPE tokenizer on Python files and measure it.
// Each action turns flags into a file list and a config and calls one library function
// (trainTokenizerFromFiles / measureTokenizer in src/tokenizer/bpe-train.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { SPLIT_PATTERNS, resolvePattern, validateBpeTrainConfig } from '../../tokenizer/bpe-train.js';
import { measureTokenizer, trainTokenizerFromFiles } from '../../tokenizer/train-files.js';
import { loadTokenizer } from '../../tokenizer/tokenizer.js';
import { corpusSourceFiles } from '../../data/corpus/source-files.js';
import { progressBar, type Progress } from '../progress.js';
import { emitJson, intFlag, jsonOnStdout, type JsonFlag } from '../flags.js';

// ---------------------------------------------------------------------------------------------
// File arguments: paths, directories (walked for .py) and globs (`*`, `?`, `**`)

const GLOB_CHARS = /[*?[]/;

/**
 * A glob over '/'-separated paths as a RegExp: `**` any folders, `*` and `?` within one name.
 * `anywhere`: match the glob against any trailing run of whole path components (for relative excludes).
 */
export function globToRegExp(glob: string, anywhere = false): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*') {
      if (glob[i + 1] === '*') {
        i++;
        if (glob[i + 1] === '/') {
          i++;
          re += '(?:[^/]*/)*';
        } else re += '.*';
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        re += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else re += ch.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(`${anywhere ? '(?:^|/)' : '^'}${re}$`);
}

/** Regular files under dir whose names pass `keep`, sorted; links are never followed. */
function walkFiles(dir: string, keep: (file: string) => boolean): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(d, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) {
        if (e.name !== '__pycache__' && !e.name.startsWith('.') && e.name !== 'node_modules') walk(p);
      } else if (e.isFile() && keep(p)) out.push(p);
    }
  };
  walk(dir);
  return out.sort();
}

/**
 * Expands --files / --files-from arguments: a file is taken as is, a directory gives its .py files,
 * a glob is matched below its fixed leading folders. Paths matching an --exclude glob are dropped.
 */
export function expandFileArgs(args: readonly string[], filesFrom: string | undefined, exclude: readonly string[] = []): string[] {
  const all: string[] = [];
  const items = [...args];
  if (filesFrom !== undefined) {
    let text: string;
    try {
      text = fs.readFileSync(filesFrom, 'utf8');
    } catch (err) {
      throw new Error(`--files-from: cannot read ${filesFrom}: ${(err as Error).message}`);
    }
    items.push(
      ...text
        .split(/\r?\n/)
        .map((l) => l.trim())
        .filter((l) => l.length > 0 && !l.startsWith('#')),
    );
  }
  for (const arg of items) {
    if (GLOB_CHARS.test(arg)) {
      const abs = path.resolve(arg).split(path.sep).join('/');
      const parts = abs.split('/');
      const firstGlob = parts.findIndex((p) => GLOB_CHARS.test(p));
      const base = parts.slice(0, firstGlob).join('/') || '/';
      const re = globToRegExp(abs);
      const found = walkFiles(base, (f) => re.test(f.split(path.sep).join('/')));
      if (found.length === 0) throw new Error(`--files: glob ${JSON.stringify(arg)} matched no files`);
      all.push(...found);
      continue;
    }
    let st: fs.Stats;
    try {
      st = fs.statSync(arg);
    } catch {
      throw new Error(`--files: no such file or folder: ${arg}`);
    }
    if (st.isDirectory()) all.push(...walkFiles(arg, (f) => f.endsWith('.py')));
    else all.push(arg);
  }
  // Absolute excludes match whole paths; relative ones (`**/_vendor/**`, `test_*.py`) match path tails.
  const ex = exclude.map((g) =>
    path.isAbsolute(g) ? globToRegExp(g.split(path.sep).join('/')) : globToRegExp(g.split(path.sep).join('/'), true),
  );
  return [...new Set(all.map((f) => path.resolve(f)))].filter((f) => !ex.some((re) => re.test(f.split(path.sep).join('/')))).sort();
}

/** Byte counts with an optional k/M/G suffix (powers of 1000): 50M, 1.5G, 200000. */
export function parseBytesFlag(flag: string, v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKmMgG]?)$/.exec(v.trim());
  if (!m) throw new Error(`${flag} must be a byte count like 50000000 or 50M, got "${v}"`);
  const mult = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g'];
  const n = Math.round(Number(m[1]) * mult);
  if (n <= 0) throw new Error(`${flag} must be positive, got "${v}"`);
  return n;
}

// ---------------------------------------------------------------------------------------------

interface TrainFlags {
  files?: string[];
  filesFrom?: string;
  corpus?: string;
  tasks?: string[];
  exclude?: string[];
  vocab: number;
  out: string;
  maxBytes?: number;
  seed: number;
  pattern: string;
  minFrequency: number;
  json?: JsonFlag;
}

interface EvalFlags {
  tokenizer: string;
  files?: string[];
  filesFrom?: string;
  exclude?: string[];
  json?: JsonFlag;
}

function phaseBars(): { onProgress: (phase: 'read' | 'merge', done: number, total: number) => void; stop: () => void } {
  const bars = new Map<string, Progress>();
  let current: Progress | undefined;
  return {
    onProgress(phase, done, total) {
      let bar = bars.get(phase);
      if (!bar) {
        current?.stop();
        bar = progressBar(phase === 'read' ? 'tokenizer: reading' : 'tokenizer: merging', total);
        bars.set(phase, bar);
        current = bar;
      }
      bar.update(done);
    },
    stop() {
      current?.stop();
    },
  };
}

export function register(program: Command): void {
  const tok = program.command('tokenizer').description('train and measure the byte-level BPE tokenizer');

  tok
    .command('train')
    .description('train a byte-level BPE tokenizer on Python source and write tokenizer.json + tokenizer_config.json')
    .option('--files <paths...>', 'files, folders (their .py files) or globs (* ? **) to train on')
    .option('--files-from <file>', 'a text file listing paths to train on, one per line')
    .option(
      '--corpus <dir>',
      'a corpus cache (manifest.json): trains on the non-test .py files of its repositories, minus the --tasks cross-repo val/test ones',
    )
    .option('--tasks <dirs...>', 'with --corpus: built task folders; repositories in their cr-val.jsonl / cr-test.jsonl are left out')
    .option('--exclude <globs...>', "drop paths matching these globs; a relative glob matches any path tail (e.g. '**/_vendor/**')")
    .requiredOption('--out <dir>', 'folder to write tokenizer.json and tokenizer_config.json into')
    .option(
      '--vocab <n>',
      'vocabulary size, specials (2) and bytes (256) included (see src/tokenizer/VOCAB.md)',
      intFlag('--vocab', 258),
      4096,
    )
    .option('--max-bytes <n>', 'use at most this much text (a seeded sample of the files), e.g. 50M', (v) =>
      parseBytesFlag('--max-bytes', v),
    )
    .option('--seed <n>', 'seed for the file sample taken under --max-bytes', intFlag('--seed', 0), 0)
    .option('--pattern <name|regex>', `split regex: ${Object.keys(SPLIT_PATTERNS).join(', ')} or a raw Oniguruma regex`, 'code')
    .option('--min-frequency <n>', 'stop merging when the best pair is rarer than this', intFlag('--min-frequency', 1), 2)
    .option('--json [file]', 'the training report as JSON: written to FILE, or printed on stdout (instead of text) when no file is given')
    .action(async (o: TrainFlags) => {
      const sources = [o.files?.length || o.filesFrom ? 1 : 0, o.corpus ? 1 : 0].reduce((a, b) => a + b, 0);
      if (sources !== 1) throw new Error('tokenizer train: give --files/--files-from or --corpus (exactly one source)');
      const config = validateBpeTrainConfig({
        vocabSize: o.vocab,
        pattern: resolvePattern(o.pattern),
        minFrequency: o.minFrequency,
      });
      let files: string[];
      if (o.corpus) {
        const c = await corpusSourceFiles(o.corpus, o.tasks ?? []);
        files = expandFileArgs(c.train, undefined, o.exclude);
        if (!jsonOnStdout(o.json))
          console.error(
            `tokenizer: ${c.trainRepos.length} training repositories (${c.valRepos.length + c.testRepos.length} cross-repo val/test repositories left out), ${files.length} non-test .py files`,
          );
      } else files = expandFileArgs(o.files ?? [], o.filesFrom, o.exclude);
      if (files.length === 0) throw new Error('tokenizer train: no files to train on');
      const bars = phaseBars();
      let result;
      try {
        result = trainTokenizerFromFiles(files, {
          config,
          outDir: o.out,
          seed: o.seed,
          ...(o.maxBytes !== undefined ? { maxBytes: o.maxBytes } : {}),
          onProgress: bars.onProgress,
        });
      } finally {
        bars.stop();
      }
      const r = result.report;
      if (emitJson(o.json, r)) return;
      const skipped = Object.entries(r.skipped)
        .filter(([, n]) => n > 0)
        .map(([k, n]) => `${n} ${k}`)
        .join(', ');
      console.log(
        `read ${r.files} files, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.readSeconds.toFixed(1)} s${skipped ? ` (skipped: ${skipped})` : ''}`,
      );
      console.log(
        `${r.train.merges} merges, vocabulary ${r.train.vocabSize} (stopped by ${r.train.stoppedBy}) in ${r.train.seconds.toFixed(1)} s`,
      );
      console.log(`wrote ${path.join(o.out, 'tokenizer.json')} and tokenizer_config.json`);
    });

  tok
    .command('eval')
    .description('characters and bytes per token of a tokenizer on held-out files')
    .requiredOption('--tokenizer <dir>', 'folder holding tokenizer.json (or the file itself)')
    .option('--files <paths...>', 'held-out files, folders (their .py files) or globs')
    .option('--files-from <file>', 'a text file listing held-out paths, one per line')
    .option('--exclude <globs...>', 'drop paths matching these globs; a relative glob matches any path tail')
    .option('--json [file]', 'the result as JSON: written to FILE, or printed on stdout (instead of text) when no file is given')
    .action((o: EvalFlags) => {
      if (!o.files?.length && !o.filesFrom) throw new Error('tokenizer eval: give --files or --files-from');
      const files = expandFileArgs(o.files ?? [], o.filesFrom, o.exclude);
      if (files.length === 0) throw new Error('tokenizer eval: no files to measure');
      const t = loadTokenizer(o.tokenizer);
      const bar = progressBar('tokenizer: encoding', files.length);
      let r;
      try {
        r = measureTokenizer(
          (s) => t.encode(s),
          files,
          (d) => bar.update(d),
        );
      } finally {
        bar.stop();
      }
      const out = { tokenizer: t.source, vocabSize: t.vocabSize, ...r };
      if (emitJson(o.json, out)) return;
      console.log(`${t.source} (vocabulary ${t.vocabSize}) on ${r.files} files${r.skipped ? ` (${r.skipped} skipped)` : ''}:`);
      console.log(
        `${r.chars} characters, ${r.bytes} bytes, ${r.tokens} tokens: ${r.charsPerToken.toFixed(3)} chars/token, ${r.bytesPerToken.toFixed(3)} bytes/token`,
      );
    });
}
