// Assertion-completion metrics: the paper's released scorer (RepoPeftBench, METHOD.md §2), step by step.
//  0. Remove FIM marker tokens from the prediction and trim it (Python str.strip()).
//  1. If the target has no newline, keep only the prediction's first line.
//  2. Strip comments from both sides: cut at the first '#' (even inside a string literal: a quirk of
//     the released scorer, kept for comparability) and trim.
//  3. If the stripped target is not empty: when it has no comma, cut the prediction at its first comma
//     and trim; when it is one whitespace-free token and the prediction has several, keep the
//     prediction's first token. Trim.
//  4. Exact match after normalisation of both sides: trim, drop trailing ':' ',' ' ' '\t', replace
//     ", " and " ," by ",", collapse whitespace runs to one space.
//  5. Edit similarity = difflib.SequenceMatcher(None, a, b).ratio() of the step-3 prediction and the
//     step-2 target, without the step-4 normalisation; re-implemented below over Unicode code points.
// "Whitespace" and "trim" are Python's (str.split() / str.strip()), not JavaScript's \s.
import { pySplit, pyStrip } from '../util/pystr.js';

export { pySplit, pyStrip };

const TRAIL_PUNCT = /[:, \t]+$/;

/** The Qwen fill-in-the-middle markers the released scorer removes from predictions. */
export const FIM_TOKENS = ['<|fim_prefix|>', '<|fim_suffix|>', '<|fim_middle|>'] as const;

/** Step 2: cut at the first '#' (anywhere, string literals included) and trim. */
export function stripComments(s: string): string {
  const h = s.indexOf('#');
  return pyStrip(h >= 0 ? s.slice(0, h) : s);
}

/** Steps 0-3: the cleaned prediction that both metrics compare. */
export function postprocess(prediction: string, target: string): string {
  let p = prediction;
  for (const t of FIM_TOKENS) p = p.split(t).join('');
  p = pyStrip(p);
  if (!target.includes('\n') && p.includes('\n')) p = p.slice(0, p.indexOf('\n'));
  p = stripComments(p);
  const ref = stripComments(target);
  if (ref !== '') {
    if (!ref.includes(',') && p.includes(',')) p = pyStrip(p.slice(0, p.indexOf(',')));
    if (pySplit(ref).length === 1) {
      const tokens = pySplit(p);
      if (tokens.length > 1) p = tokens[0] as string;
    }
  }
  return pyStrip(p);
}

/** Step 4: trim, drop trailing ':' ',' ' ' '\t', ", " and " ," -> ",", collapse whitespace runs. */
export function normalize(s: string): string {
  const t = pyStrip(s).replace(TRAIL_PUNCT, '').replaceAll(', ', ',').replaceAll(' ,', ',');
  return pySplit(t).join(' ');
}

export interface TaskScore {
  exact: number;
  edit: number;
}

export interface CleanScore extends TaskScore {
  /** The prediction after steps 0-3. */
  prediction: string;
  /** The target after step 2. */
  target: string;
}

/** Score one prediction against its target (exact: 0 or 1), with the cleaned strings. */
export function scoreTask(prediction: string, target: string): CleanScore {
  const p = postprocess(prediction, target);
  const t = stripComments(target);
  return { exact: normalize(p) === normalize(t) ? 1 : 0, edit: sequenceRatio(p, t), prediction: p, target: t };
}

/** Exact match after post-processing and normalisation. */
export function exactMatch(prediction: string, target: string): boolean {
  return scoreTask(prediction, target).exact === 1;
}

/** Edit similarity in [0, 1] of the cleaned prediction and the comment-stripped target. */
export function editSimilarity(prediction: string, target: string): number {
  return scoreTask(prediction, target).edit;
}

/** Score aligned predictions and targets (exact: 0 or 1). */
export function scoreAll(predictions: string[], targets: string[]): TaskScore[] {
  if (predictions.length !== targets.length) throw new Error(`scoreAll: ${predictions.length} predictions for ${targets.length} targets`);
  return predictions.map((p, i) => {
    const s = scoreTask(p, targets[i] as string);
    return { exact: s.exact, edit: s.edit };
  });
}

// ---------------------------------------------------------------------------------------------
// difflib.SequenceMatcher.ratio()

/** 2 * matches / (len(a) + len(b)), with matches from difflib's matching blocks; 1 for two empty strings. */
export function sequenceRatio(a: string, b: string): number {
  const A = Array.from(a);
  const B = Array.from(b);
  const total = A.length + B.length;
  if (total === 0) return 1;
  return (2 * matchingCharacters(A, B)) / total;
}

function matchingCharacters(a: string[], b: string[]): number {
  // b2j: element -> ascending positions in b; autojunk drops "popular" elements of long b.
  const b2j = new Map<string, number[]>();
  b.forEach((e, j) => {
    const l = b2j.get(e);
    if (l) l.push(j);
    else b2j.set(e, [j]);
  });
  if (b.length >= 200) {
    const ntest = Math.floor(b.length / 100) + 1;
    for (const [e, idx] of [...b2j]) if (idx.length > ntest) b2j.delete(e);
  }
  const longest = (alo: number, ahi: number, blo: number, bhi: number): [number, number, number] => {
    let besti = alo;
    let bestj = blo;
    let bestsize = 0;
    let j2len = new Map<number, number>();
    for (let i = alo; i < ahi; i++) {
      const next = new Map<number, number>();
      for (const j of b2j.get(a[i] as string) ?? []) {
        if (j < blo) continue;
        if (j >= bhi) break;
        const k = (j2len.get(j - 1) ?? 0) + 1;
        next.set(j, k);
        if (k > bestsize) {
          besti = i - k + 1;
          bestj = j - k + 1;
          bestsize = k;
        }
      }
      j2len = next;
    }
    // No junk function: extend through equal elements (popular ones included), as difflib does.
    while (besti > alo && bestj > blo && a[besti - 1] === b[bestj - 1]) {
      besti--;
      bestj--;
      bestsize++;
    }
    while (besti + bestsize < ahi && bestj + bestsize < bhi && a[besti + bestsize] === b[bestj + bestsize]) bestsize++;
    return [besti, bestj, bestsize];
  };
  let matches = 0;
  const queue: [number, number, number, number][] = [[0, a.length, 0, b.length]];
  while (queue.length) {
    const [alo, ahi, blo, bhi] = queue.pop() as [number, number, number, number];
    const [i, j, k] = longest(alo, ahi, blo, bhi);
    if (k > 0) {
      matches += k;
      if (alo < i && blo < j) queue.push([alo, i, blo, j]);
      if (i + k < ahi && j + k < bhi) queue.push([i + k, ahi, j + k, bhi]);
    }
  }
  return matches;
}
