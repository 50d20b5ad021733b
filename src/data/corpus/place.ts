// Move a freshly extracted project into place (unwrapping a single top-level folder) and mark it
// complete with a marker file, so an interrupted run never mistakes a half-written folder for a project.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { writeFileAtomic } from '../../util/atomic.js';
import type { ProjectEntry } from '../manifest.js';

export const PROJECT_MARKER = '.code2lora-project.json';

export async function readMarker(dir: string): Promise<ProjectEntry | null> {
  try {
    return JSON.parse(await fsp.readFile(path.join(dir, PROJECT_MARKER), 'utf8')) as ProjectEntry;
  } catch {
    return null;
  }
}

/** The folder holding the project inside an extraction folder: its only child folder, or itself. */
export async function projectRoot(extracted: string): Promise<string> {
  const kids = await fsp.readdir(extracted, { withFileTypes: true });
  if (kids.length === 1 && kids[0]?.isDirectory()) return path.join(extracted, kids[0].name);
  return extracted;
}

/**
 * Replace `finalDir` by the project in `extracted` (its single top-level folder when `unwrap`, as
 * upstream tarballs hold one), then write the marker.
 */
export async function placeProject(extracted: string, finalDir: string, entry: ProjectEntry, unwrap: boolean): Promise<void> {
  const src = unwrap ? await projectRoot(extracted) : extracted;
  await fsp.rm(finalDir, { recursive: true, force: true });
  await fsp.rename(src, finalDir);
  await writeFileAtomic(path.join(finalDir, PROJECT_MARKER), `${JSON.stringify(entry, null, 2)}\n`);
}
