// Tests that need an outside tool (PyTorch, gpg) skip on a developer machine without it, but must not
// go quiet in CI: when CI is set, a missing tool registers a failing test that names the tool and the
// install step, so a green suite always means the headline checks ran.
import { it } from 'vitest';

/** True when the environment says this is a CI run (CI=true, CI=1, ...; not CI=false or CI=0). */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const v = (env.CI ?? '').trim().toLowerCase();
  return v !== '' && v !== 'false' && v !== '0';
}

/**
 * Returns `found`. When the tool is missing in CI, also registers a failing test (call it at module
 * or describe level, where `it` may be called). Use: `describe.skipIf(!requiredTool('gpg', hasGpg, how))`.
 */
export function requiredTool(tool: string, found: boolean, install: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (!found && inCi(env)) {
    it(`${tool} is available (required when CI is set)`, () => {
      throw new Error(`${tool} is missing, so the tests that need it would be skipped; CI must run them. Install it: ${install}`);
    });
  }
  return found;
}
