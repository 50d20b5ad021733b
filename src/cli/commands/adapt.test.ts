// `code2lora adapt` and `code2lora complete --repo/--adapter` through the command line, in process,
// on a tiny untrained hypernetwork: the adapter directory and report, the default --out, bad
// repositories and hypernetworks as clear errors (the launcher turns a rejected command into exit
// code 1 with the message), and folded vs unfolded completion.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { makeTinyBench } from '../../../test/fixtures/tiny-bench.js';
import { makeTinyHyper, makeTinyModel } from '../../../test/fixtures/tiny-hyper.js';
import { LoraAdapter } from '../../adapters/lora/layer.js';
import { modelFileSha256 } from '../../adapters/hyper/hypernet.js';
import { readProvenance } from '../../adapters/hyper/provenance.js';
import { loadLlama } from '../../model/llama/io.js';
import { register as registerAdapt } from './adapt.js';
import { register as registerComplete } from './complete.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-adapt-cli-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const bench = makeTinyBench(join(root, 'bench'));
const modelDir = makeTinyModel(join(root, 'model'), bench.modelDir);
const hyperDir = join(root, 'hyper');
makeTinyHyper(hyperDir, modelDir);
const cache = join(root, 'cache');

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

/** Runs `code2lora ...args` (adapt and complete only) in process; returns stdout and console.log text. */
async function run(...args: string[]): Promise<string> {
  let out = '';
  const program = new Command().name('code2lora').exitOverride();
  program.configureOutput({
    writeOut: (s) => {
      out += s;
    },
    writeErr: (s) => {
      out += s;
    },
  });
  registerAdapt(program);
  registerComplete(program);
  const log = vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    out += `${a.join(' ')}\n`;
  });
  const write = vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  try {
    await program.parseAsync(['node', 'code2lora', ...args]);
  } finally {
    log.mockRestore();
    write.mockRestore();
  }
  return out;
}

const flags = ['--model', modelDir, '--hyper', hyperDir, '--cache', cache];
const pkg = repo('calc', { 'calc/core.py': code(1), 'calc/util.py': code(2), 'tests/test_core.py': 'def test_f():\n    assert 1 == 1\n' });

describe('code2lora adapt', () => {
  it('writes a PEFT directory with provenance and reports files, caps, skips, time and where it wrote', async () => {
    const out = join(root, 'adapters', 'calc');
    const jsonFile = join(root, 'adapt.json');
    const text = await run('adapt', pkg, '--out', out, ...flags, '--json', jsonFile);
    expect(text).toMatch(/calc: 2 files \(0 from the cache\), \d+ windows; 1 test files excluded/);
    expect(text).toContain(`wrote ${out}`);
    expect(text).toMatch(/adapter in \d+\.\d+ s/);
    const loaded = LoraAdapter.loadPeft(out, loadLlama(modelDir).model.config);
    expect(loaded.weights.size).toBe(2 * 7);
    const p = readProvenance(out)!;
    expect(p.baseModel.sha256).toBe(modelFileSha256(modelDir));
    const json = JSON.parse(readFileSync(jsonFile, 'utf8'));
    expect(json.out).toBe(out);
    expect(json.repository.contentSha256).toBe(p.repository.contentSha256);
    // again: every file from the cache; bare --json prints only JSON
    const again = JSON.parse(await run('adapt', pkg, '--out', out, ...flags, '--json'));
    expect(again.encoding.cached).toBe(2);
  });

  it('defaults --out to adapters/<repository folder name> under the current folder', async () => {
    const cwd = process.cwd();
    const work = join(root, 'cwd');
    mkdirSync(work, { recursive: true });
    process.chdir(work);
    try {
      await run('adapt', pkg, ...flags);
    } finally {
      process.chdir(cwd);
    }
    expect(existsSync(join(work, 'adapters', 'calc', 'adapter_model.safetensors'))).toBe(true);
    expect(existsSync(join(work, 'adapters', 'calc', 'code2lora-provenance.json'))).toBe(true);
  });

  it('a repository with no Python files, or only tests, is a clear error naming it (and writes nothing)', async () => {
    const none = repo('docs-only', { 'README.md': '# hi\n', 'data.bin': '\u0000\u0001' });
    const out = join(root, 'adapters', 'none');
    await expect(run('adapt', none, '--out', out, ...flags)).rejects.toThrow(/cannot embed repository .*docs-only: it has no Python files/);
    const tests = repo('tests-only', { 'tests/test_a.py': code(3), 'test_b.py': code(4) });
    await expect(run('adapt', tests, '--out', out, ...flags)).rejects.toThrow(/tests-only: it has only test files \(2\)/);
    await expect(run('adapt', join(root, 'no-such-repo'), '--out', out, ...flags)).rejects.toThrow(/no-such-repo does not exist/);
    expect(existsSync(out)).toBe(false);
  });

  it('reports binary and non-UTF-8 files as skipped, survives a symlink loop, and rebuilds a corrupt cache entry', async () => {
    const dir = repo('messy', {
      'ok.py': code(11),
      'two.py': code(12),
      'bin.py': Buffer.from([0, 1, 2, 3, 0]),
      'latin.py': Buffer.from([0x63, 0xe9, 0xe9, 0x0a]),
    });
    symlinkSync(dir, join(dir, 'loop'));
    const out = join(root, 'adapters', 'messy');
    const ownCache = join(root, 'cache-messy');
    const text = await run('adapt', dir, '--out', out, '--model', modelDir, '--hyper', hyperDir, '--cache', ownCache);
    expect(text).toContain('skipped bin.py: binary');
    expect(text).toMatch(/skipped latin\.py: /);
    expect(
      readProvenance(out)
        ?.encoding.skipped.map((s) => s.file)
        .sort(),
    ).toEqual(['bin.py', 'latin.py']);
    // damage one cache entry: it is detected by its checksum, reported, rebuilt, and the adapter is unchanged
    const entries = readdirSync(ownCache, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.emb'));
    expect(entries).toHaveLength(2);
    const entry = join(ownCache, entries[0]);
    const bytes = readFileSync(entry);
    bytes[20] ^= 0xff;
    writeFileSync(entry, bytes);
    const before = readFileSync(join(out, 'adapter_model.safetensors'));
    const again = await run('adapt', dir, '--out', out, '--model', modelDir, '--hyper', hyperDir, '--cache', ownCache);
    expect(again).toMatch(/rebuilt corrupt cache entry .*checksum mismatch/);
    expect(again).toContain('2 files (1 from the cache)');
    expect(readProvenance(out)?.encoding.corruptCacheEntries).toHaveLength(1);
    expect(readFileSync(join(out, 'adapter_model.safetensors')).equals(before)).toBe(true);
  });

  it('a damaged head.safetensors is a clear error naming it', async () => {
    const bad = join(root, 'hyper-damaged');
    makeTinyHyper(bad, modelDir);
    writeFileSync(join(bad, 'head.safetensors'), Buffer.from('garbage'));
    await expect(run('adapt', pkg, '--out', join(root, 'y'), '--model', modelDir, '--hyper', bad)).rejects.toThrow(
      /hyper-damaged\/head\.safetensors/,
    );
  });

  it('refuses a hypernetwork for another base model, naming both hashes; names a missing one', async () => {
    const other = makeTinyModel(join(root, 'model-other'), bench.modelDir, { seed: 9 });
    const err = await run('adapt', pkg, '--out', join(root, 'x'), '--model', other, '--hyper', hyperDir).then(
      () => null,
      (e: Error) => e,
    );
    expect(err?.message).toContain(modelFileSha256(other));
    expect(err?.message).toContain(modelFileSha256(modelDir));
    await expect(run('adapt', pkg, '--model', modelDir, '--hyper', join(root, 'none'))).rejects.toThrow(/no hypernetwork at .*none/);
  });
});

describe('code2lora complete with a generated adapter', () => {
  const promptFile = join(root, 'prompt.py');
  writeFileSync(promptFile, `${code(5)}\ndef g():\n    return f_5(`);
  const common = ['--prompt', promptFile, '--model', modelDir, '--max-new-tokens', '12', '--multiline', '--json'];

  it('--repo adapts on the fly; folded, unfolded and the written --adapter give the same completion', async () => {
    const folded = JSON.parse(await run('complete', ...common, '--repo', pkg, '--hyper', hyperDir, '--cache', cache));
    const unfolded = JSON.parse(await run('complete', ...common, '--repo', pkg, '--hyper', hyperDir, '--no-cache', '--no-fold'));
    const out = join(root, 'adapters', 'for-complete');
    await run('adapt', pkg, '--out', out, ...flags);
    const fromDir = JSON.parse(await run('complete', ...common, '--adapter', out));
    const base = JSON.parse(await run('complete', ...common));
    expect(folded.adapter).toBe('folded');
    expect(unfolded.adapter).toBe('unfolded');
    expect(fromDir.adapter).toBe('folded');
    expect(base.adapter).toBe('none');
    expect(folded.tokens).toBeGreaterThan(0);
    expect(unfolded.completion).toBe(folded.completion);
    expect(fromDir.completion).toBe(folded.completion);
    expect(folded.adapt.encoding.files).toBe(2);
    expect(folded.adapt.encoding.cached).toBe(2); // the cache `adapt` filled above
    expect(unfolded.adapt.encoding.cached).toBe(0); // --no-cache
  });

  it('refuses --repo with --adapter, and --hyper or --cache without --repo', async () => {
    await expect(run('complete', ...common, '--repo', pkg, '--adapter', join(root, 'a'))).rejects.toThrow(/--adapter or --repo, not both/);
    await expect(run('complete', ...common, '--hyper', hyperDir)).rejects.toThrow(/--hyper needs --repo/);
    await expect(run('complete', ...common, '--cache', cache)).rejects.toThrow(/--cache needs --repo/);
  });
});
