// Assertion-completion metrics (METHOD.md §2):
//  - post-processing of a raw completion: keep its first line when the target is one line, and cut it
//    at the first comma when the target has none;
//  - normalisation of both sides: collapse whitespace runs, trim, drop trailing ':' ',' and spaces;
//  - exact match on the normalised strings, and edit similarity = difflib.SequenceMatcher(a, b).ratio()
//    (autojunk on, no junk function), re-implemented here over Unicode code points.

/** Post-process a raw model completion against its target. */
export function postprocess(prediction: string, target: string): string {
  let p = prediction;
  if (!target.includes('\n')) {
    const nl = p.indexOf('\n');
    if (nl >= 0) p = p.slice(0, nl);
  }
  if (!target.includes(',')) {
    const c = p.indexOf(',');
    if (c >= 0) p = p.slice(0, c);
  }
  return p;
}

/** Collapse whitespace, trim, and remove trailing ':', ',' and spaces. */
export function normalize(s: string): string {
  return s.replace(/\s+/g, ' ').trim().replace(/[:,\s]+$/, '');
}

/** Exact match after post-processing and normalisation. */
export function exactMatch(prediction: string, target: string): boolean {
  return normalize(postprocess(prediction, target)) === normalize(target);
}

/** Edit similarity in [0, 1] after post-processing and normalisation. */
export function editSimilarity(prediction: string, target: string): number {
  return sequenceRatio(normalize(postprocess(prediction, target)), normalize(target));
}

export interface TaskScore {
  exact: number;
  edit: number;
}

/** Score aligned predictions and targets (exact: 0 or 1). */
export function scoreAll(predictions: string[], targets: string[]): TaskScore[] {
  if (predictions.length !== targets.length) throw new Error(`scoreAll: ${predictions.length} predictions for ${targets.length} targets`);
  return predictions.map((p, i) => ({ exact: exactMatch(p, targets[i] as string) ? 1 : 0, edit: editSimilarity(p, targets[i] as string) }));
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
        if (k > bestsize) { besti = i - k + 1; bestj = j - k + 1; bestsize = k; }
      }
      j2len = next;
    }
    // No junk function: extend through equal elements (popular ones included), as difflib does.
    while (besti > alo && bestj > blo && a[besti - 1] === b[bestj - 1]) { besti--; bestj--; bestsize++; }
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
