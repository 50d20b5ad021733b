// Types for the part of wink-bm25-text-search (plain JavaScript, no types shipped) that bm25.ts uses.
declare module 'wink-bm25-text-search' {
  interface WinkBm25 {
    defineConfig(config: {
      fldWeights: Record<string, number>;
      bm25Params?: { k1?: number; b?: number; k?: number };
      ovFldNames?: string[];
    }): boolean;
    definePrepTasks(tasks: Array<(input: string) => string[] | string>, field?: string): number;
    addDoc(doc: Record<string, string>, id: string | number): number;
    consolidate(fp?: number): boolean;
    search(
      text: string,
      limit?: number,
      filter?: (fieldValues: Record<string, string>, params: unknown) => boolean,
      params?: unknown,
    ): Array<[string, number]>;
  }
  function bm25(): WinkBm25;
  export default bm25;
}
