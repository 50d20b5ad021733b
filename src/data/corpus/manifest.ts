// Moved to src/data/manifest.ts (data/tasks reads it, so it cannot live in data/corpus); kept for importers still on this path.
export * from '../manifest.js';
