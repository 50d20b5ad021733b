// Rotary positions of a left-padded batch, shared by the model and the KV cache.

/** HF Llama positions for left padding: cumsum(mask) - 1, pads at 0; `offset[b]` real tokens already
 *  seen by sequence b (a KV cache continuing it). */
export function defaultPositions(mask: Uint8Array, B: number, T: number, offset?: Int32Array): Int32Array {
  const pos = new Int32Array(B * T);
  for (let b = 0; b < B; b++) {
    let c = offset ? offset[b] : 0;
    for (let t = 0; t < T; t++) {
      if (mask[b * T + t]) {
        pos[b * T + t] = c;
        c++;
      } else pos[b * T + t] = 0;
    }
  }
  return pos;
}
