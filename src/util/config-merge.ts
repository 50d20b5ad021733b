// One rule for every config file read over its defaults: top-level keys replace, the objects named in
// `nested` are merged key by key (so a file can set head.rank without restating the whole head).
// Unknown keys are kept for the caller's validator to refuse.

export function mergeOverDefaults<C extends object>(defaults: C, over: Record<string, unknown>, nested: readonly (keyof C & string)[]): C {
  const merged: Record<string, unknown> = { ...defaults, ...over };
  for (const k of nested) merged[k] = { ...(defaults[k] as object), ...((over[k] as object | undefined) ?? {}) };
  return merged as C;
}
