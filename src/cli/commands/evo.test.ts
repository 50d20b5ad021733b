// `code2lora evo init / update / replay` through the command line, in process, on an untrained tiny
// Evo checkpoint and git repositories built here: a state file per step, refusals with their
// reason, and a replay over the evolution track scored on its tasks.
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { git, makeEvoRepo, makeTinyEvo, makeTinyEvoCheckpoint, type TinyEvo } from '../../../test/fixtures/tiny-evo.js';
import { readEvoState } from '../../adapters/hyper/evo-state.js';
import { register as registerEvo } from './evo.js';
import { register as registerComplete } from './complete.js';

const root = mkdtempSync(join(tmpdir(), 'c2l-evo-cli-'));
let t: TinyEvo;
let ckpt: string;
beforeAll(async () => {
  t = await makeTinyEvo(root, 4);
  ckpt = join(root, 'ckpt');
  makeTinyEvoCheckpoint(ckpt, t);
}, 60_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

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
  registerEvo(program);
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

describe('code2lora evo', () => {
  it('init, update --commit (refusing a repeat), update --diff', async () => {
    const repo = join(root, 'live');
    const shas = makeEvoRepo(repo, 'live', 3);
    git(repo, 'checkout', '-q', shas[0]);
    const state = join(root, 'live.state.json');
    const flags = ['--evo', ckpt, '--model', t.bench.modelDir, '--cache', join(root, 'cache')];
    const a = await run('evo', 'init', repo, '--state', state, ...flags);
    expect(a).toMatch(/adapter [0-9a-f]{64}/);
    expect(readEvoState(state).lastCommit).toBe(shas[0]);
    const b = await run('evo', 'update', '--state', state, '--commit', shas[1], '--model', t.bench.modelDir);
    expect(b).toMatch(new RegExp(`step 1 at ${shas[1]}`));
    await expect(run('evo', 'update', '--state', state, '--commit', shas[1], '--model', t.bench.modelDir)).rejects.toThrow(
      /already applied/,
    );
    await expect(run('evo', 'update', '--state', state, '--model', t.bench.modelDir)).rejects.toThrow(/exactly one of --commit and --diff/);
    expect(readEvoState(state).steps).toBe(1);
    // complete with the state's adapter
    const prompt = join(root, 'prompt.py');
    writeFileSync(prompt, 'def test_f():\n    assert f_1(1) == ');
    const c = await run('complete', '--prompt', prompt, '--state', state, '--model', t.bench.modelDir, '--max-new-tokens', '3', '--json');
    const j = JSON.parse(c.slice(c.indexOf('{')));
    expect(j.adapter).toBe('folded');
    expect(j.evoAdapterSha256).toBe(readEvoState(state).adapterSha256);
    await expect(run('complete', '--prompt', prompt, '--state', state, '--adapter', root)).rejects.toThrow(
      /--state brings its own adapter/,
    );
  });

  it('replay over a track repository writes a state per kept commit and scores its tasks', async () => {
    const dir = t.repoDirs.get('north')!;
    const first = git(dir, 'rev-list', '--max-parents=0', 'HEAD');
    const out = join(root, 'replay');
    const text = await run(
      'evo',
      'replay',
      dir,
      '--from',
      first,
      '--to',
      'HEAD',
      '--out',
      out,
      '--tasks',
      t.tasksDir,
      '--evo',
      ckpt,
      '--model',
      t.bench.modelDir,
      '--max-new-tokens',
      '4',
    );
    expect(text).toMatch(/3 commits applied/);
    expect(text).toMatch(/exact match \d+\.\d%/);
    expect(readdirSync(join(out, 'states'))).toHaveLength(4);
    expect(existsSync(join(out, 'replay.json'))).toBe(true);
  });
});
