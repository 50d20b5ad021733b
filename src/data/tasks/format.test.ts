import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseTasks, readTaskFile, taskProblem, writeTaskFile } from './format.js';
import type { Task } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'c2l-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const task: Task = {
  id: 'r/t.py:3:15',
  repo: 'r',
  file: 't.py',
  line: 3,
  family: 'assert',
  prefix: 'def test_a():\n    assert x == ',
  target: '1',
  function: 'test_a',
  kind: 'numeric_literal',
  multiline: false,
  assertion: 'assert',
};

describe('task files', () => {
  it('round-trips tasks, optional fields and unknown extra fields included', async () => {
    const f = join(dir, 'cr-test.jsonl');
    const evo = { ...task, id: 'r/t.py:4:15', commit: 'abc', commitIndex: 0, note: 'kept' };
    await writeTaskFile(f, [task, evo]);
    expect(readFileSync(f, 'utf8').split('\n')).toHaveLength(3); // two lines and the final newline
    expect(readTaskFile(f)).toEqual([task, evo]);
  });
  it('names the file, the line and the field of a bad record', () => {
    const bad = (rec: unknown) => `${JSON.stringify(task)}\n\n${JSON.stringify(rec)}\n`;
    expect(() => parseTasks(bad({ ...task, target: 3 }), 'cr-test.jsonl')).toThrow(
      'cr-test.jsonl:3: field "target" must be a string, got 3',
    );
    const { function: _f, ...noFn } = task;
    expect(() => parseTasks(bad(noFn), 'x.jsonl')).toThrow('x.jsonl:3: field "function" is missing');
    expect(() => parseTasks(bad({ ...task, line: 0 }), 'x.jsonl')).toThrow(/x.jsonl:3: field "line" must be an integer >= 1/);
    expect(() => parseTasks(bad({ ...task, family: 'other' }), 'x.jsonl')).toThrow(/field "family" must be one of assert, self_assert/);
    expect(() => parseTasks(bad({ ...task, kind: 'number' }), 'x.jsonl')).toThrow(/field "kind" must be one of bool_literal/);
    expect(() => parseTasks(bad({ ...task, multiline: 'no' }), 'x.jsonl')).toThrow(/field "multiline" must be true or false/);
    expect(() => parseTasks(bad({ ...task, commitIndex: -1 }), 'x.jsonl')).toThrow(/field "commitIndex" must be an integer >= 0/);
    expect(() => parseTasks(bad([1]), 'x.jsonl')).toThrow('x.jsonl:3: expected a JSON object, got [1]');
    expect(() => parseTasks('{"id": ', 'x.jsonl')).toThrow(/x.jsonl:1: not valid JSON/);
  });
  it('refuses to write a bad task, and names a missing file', async () => {
    await expect(writeTaskFile(join(dir, 'bad.jsonl'), [task, { ...task, prefix: undefined } as unknown as Task])).rejects.toThrow(
      /bad.jsonl: task 2 \("r\/t.py:3:15"\): field "prefix" must be a string, got undefined/,
    );
    expect(() => readTaskFile(join(dir, 'none.jsonl'))).toThrow(/no task file .*none.jsonl/);
    expect(taskProblem(task)).toBeNull();
    writeFileSync(join(dir, 'ok.jsonl'), `${JSON.stringify(task)}\r\n`);
    expect(() => readTaskFile(join(dir, 'ok.jsonl'))).not.toThrow();
  });
});
