// Smoke test of the command line, in process over the current sources: every subcommand's --help
// (every option described), and a tiny end-to-end `corpus add -> tasks build -> eval --json` on two
// fixture projects with the shipped model, whose report is checked against its own predictions.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { editSimilarity, exactMatch } from '../eval/metrics.js';
import type { EvalReport } from '../eval/run-tasks.js';
import { buildProgram } from './index.js';

const work = mkdtempSync(path.join(tmpdir(), 'c2l-cli-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

class Exit extends Error {
  constructor(
    readonly code: number,
    readonly output: string,
  ) {
    super(`exit ${code}`);
  }
}

/** Runs `code2lora ...args` in process; returns what it printed (stdout and console.log). */
async function run(...args: string[]): Promise<string> {
  let out = '';
  const program = buildProgram((p) => {
    p.exitOverride((err) => {
      throw new Exit(err.exitCode, out);
    });
    p.configureOutput({
      writeOut: (s) => {
        out += s;
      },
      writeErr: (s) => {
        out += s;
      },
    });
  });
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

/** Every command path below the root: [['demo'], ['corpus'], ['corpus', 'fetch'], ...]. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  return cmd.commands.flatMap((c) => [[...prefix, c.name()], ...commandPaths(c, [...prefix, c.name()])]);
}

describe('code2lora --help', () => {
  const paths = commandPaths(buildProgram());

  it('knows the documented subcommands', () => {
    const names = paths.map((p) => p.join(' '));
    for (const n of [
      'demo',
      'corpus fetch',
      'corpus add',
      'tasks build',
      'tasks evo',
      'tokenizer train',
      'tokenizer eval',
      'pretrain',
      'complete',
      'eval',
      'bench core',
      'bench generate',
    ]) {
      expect(names).toContain(n);
    }
  });

  it.each(paths.map((p) => [p.join(' '), p] as const))('%s --help documents every option', async (_name, p) => {
    const err = await run(...p, '--help').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Exit);
    const { code, output } = err as Exit;
    expect(code).toBe(0);
    expect(output).toContain(`Usage: code2lora ${p.join(' ')}`);
    let cmd: Command = buildProgram();
    for (const name of p) cmd = cmd.commands.find((c) => c.name() === name) as Command;
    expect(cmd.description(), `${p.join(' ')} has a description`).not.toBe('');
    for (const o of cmd.options) {
      expect(o.description, `${p.join(' ')} ${o.flags} has a description`).not.toBe('');
      expect(output).toContain(o.long ?? o.flags);
    }
  });

  it('rejects an unknown subcommand with a non-zero exit', async () => {
    const err = await run('no-such-command').then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Exit);
    expect((err as Exit).code).not.toBe(0);
  });
});

describe('corpus add -> tasks build -> eval', () => {
  it('builds tasks from fixture projects and evaluates the shipped model on them; the report matches its predictions', async () => {
    // Two small projects: with --cr-test 1 one of them becomes the cross-repo test repository.
    const projects = ['calc', 'geom'].map((name, k) => {
      const proj = path.join(work, `fixture-${name}`);
      mkdirSync(path.join(proj, 'tests'), { recursive: true });
      writeFileSync(path.join(proj, `${name}.py`), 'def add(a, b):\n    return a + b\n\n\ndef neg(x):\n    return -x\n');
      const asserts = Array.from({ length: 6 }, (_, i) => `    assert add(${i}, ${k}) == ${i + k}\n    assert neg(${i}) == ${-i}\n`).join(
        '',
      );
      writeFileSync(path.join(proj, 'tests', `test_${name}.py`), `from ${name} import add, neg\n\n\ndef test_${name}():\n${asserts}`);
      return proj;
    });
    const cache = path.join(work, 'corpus');
    const tasks = path.join(work, 'tasks');
    const report = path.join(work, 'eval.json');

    await run('corpus', 'add', ...projects, '--cache', cache);
    const built = await run('tasks', 'build', '--corpus', cache, '--out', tasks, '--cr-test', '1', '--cr-val', '0');
    expect(built).toMatch(/repositories: total 2, train 1, cr-val 0, cr-test 1/);
    const lines = readFileSync(path.join(tasks, 'cr-test.jsonl'), 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(4);
    const out = await run(
      'eval',
      '--tasks',
      tasks,
      '--split',
      'cr-test',
      '--limit',
      '4',
      '--max-new-tokens',
      '4',
      '--threads',
      '1',
      '--json',
      report,
    );
    expect(out).toMatch(/cr-test: 4 tasks, exact match/);

    const r = JSON.parse(readFileSync(report, 'utf8')) as EvalReport;
    expect(r.tasks).toBe(4);
    expect(r.model).toBe('models/code2lora-base'); // repository-relative: reports get committed
    expect(r.results).toHaveLength(4);
    const byId = new Map(lines.map((l) => JSON.parse(l) as { id: string; target: string }).map((t) => [t.id, t]));
    for (const x of r.results) {
      expect(x.target).toBe(byId.get(x.id)?.target);
      expect(x.exact).toBe(exactMatch(x.prediction, x.target) ? 1 : 0);
      expect(x.edit).toBeCloseTo(editSimilarity(x.prediction, x.target), 12);
    }
    const mean = (k: 'exact' | 'edit') => r.results.reduce((s, x) => s + x[k], 0) / r.results.length;
    expect(r.exactMatch.estimate).toBeCloseTo(mean('exact'), 12);
    expect(r.editSimilarity.estimate).toBeCloseTo(mean('edit'), 12);
  });
});
