#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm run build`.
import { main } from '../dist/cli/index.js';
main(process.argv).catch((err) => {
  console.error(`code2lora: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
