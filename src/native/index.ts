// The only module that loads the native addon. Everything else asks for kernels through here.
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../util/repo-root.js';
import type { FloatArray, Kernels } from './kernels.js';
import { referenceKernels } from './reference.js';

export type { FloatArray, Kernels } from './kernels.js';
export { referenceKernels } from './reference.js';

/** What the addon exports beyond the kernel table. */
export interface NativeAddon extends Kernels {
  setNumThreads(n: number): void;
  /** Makes glibc reuse freed large blocks instead of fresh mmaps (see native/src/addon.cc). */
  tuneAllocator(): boolean;
  getNumThreads(): number;
  /** Which GEMM library and CPU path are in use, for benchmark logs. */
  info(): { gemm: string; threads: number; [key: string]: unknown };
  /** Test hook: switch to the 'avx512', 'avx2' or 'base' build of the kernels, or back to 'best';
   *  throws if this CPU cannot run it. Returns the build now in use. */
  setIsa(isa: string): string;
}

let addon: NativeAddon | undefined;

/** Loads native/build/Release/code2lora_native.node once; a clear error if it was never built. */
export function loadNative(): NativeAddon {
  if (addon) return addon;
  const path = join(repoRoot(), 'native', 'build', 'Release', 'code2lora_native.node');
  if (!existsSync(path)) {
    throw new Error(`native addon not built (${path} missing): run \`npm run build:native\``);
  }
  const require = createRequire(import.meta.url);
  addon = Object.freeze(require(path) as NativeAddon);
  // Done once, here, because this is the one place every process using the core passes through;
  // it changes how this process's malloc serves large blocks (faster, memory kept for reuse).
  addon.tuneAllocator();
  return addon;
}

/** Float64 data runs on the reference kernels (gradient checks); float32 on the native core. */
export function kernelsFor(x: FloatArray): Kernels {
  return x instanceof Float64Array ? referenceKernels : loadNative();
}
