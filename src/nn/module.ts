// The Module contract: something that owns parameters and lists them under stable names.
// The names are checkpoint keys (safetensors) and optimiser state keys, so they never change.
import type { Tensor } from '../tensor/index.js';

export interface Module {
  /** Every parameter under its stable name ("weight", "fc1.bias", ...), in a fixed order. */
  parameters(): Map<string, Tensor>;
}

/** Adds `prefix.` to every name of a child module's parameters, into `into`. */
export function collectParameters(into: Map<string, Tensor>, prefix: string, child: Module): Map<string, Tensor> {
  for (const [name, t] of child.parameters()) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (into.has(key)) throw new Error(`Module: two parameters named ${key}`);
    into.set(key, t);
  }
  return into;
}

/** Total number of values over a module's parameters. */
export function parameterCount(m: Module): number {
  let n = 0;
  for (const t of m.parameters().values()) n += t.size;
  return n;
}
