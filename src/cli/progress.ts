// The progress bars live in src/util/progress.ts (benchmarks and the CLI share them).
export { progressBar, type Progress } from '../util/progress.js';
