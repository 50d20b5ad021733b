// Which folders a client may point the server at. The operator names them at start-up (--allow-dir);
// a client's path is resolved to its realpath (every symlink followed, every `..` folded) and must
// then lie inside one of theirs (themselves realpaths), so neither `..` nor a symlink leaves them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ApiError } from './errors.js';

export class AllowedDirs {
  /** Realpaths of the allowed folders. */
  readonly roots: readonly string[];

  constructor(dirs: readonly string[]) {
    this.roots = Object.freeze(
      dirs.map((d) => {
        let real: string;
        try {
          real = fs.realpathSync(d);
        } catch {
          throw new Error(`--allow-dir ${d}: no such folder`);
        }
        if (!fs.statSync(real).isDirectory()) throw new Error(`--allow-dir ${d}: not a folder`);
        return real;
      }),
    );
  }

  /** True when `real` (a realpath) is one of the roots or lies under one. */
  contains(real: string): boolean {
    return this.roots.some((root) => {
      const rel = path.relative(root, real);
      return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
    });
  }

  /** The realpath of the folder `p` (relative paths from the server's working folder), refused with
   *  403 unless it lies inside an allowed folder, 400 when it is missing or not a folder. */
  resolveFolder(p: unknown, param: string): string {
    if (typeof p !== 'string' || p === '' || p.includes('\0')) throw new ApiError(400, `${param}: expected a folder path`, { param });
    if (this.roots.length === 0) {
      throw new ApiError(403, `${param}: the server allows no folders (start it with --allow-dir DIR)`, {
        param,
        code: 'path_not_allowed',
      });
    }
    let real: string;
    try {
      real = fs.realpathSync(path.resolve(p));
    } catch {
      throw new ApiError(400, `${param}: ${p} does not exist`, { param, code: 'path_not_found' });
    }
    this.check(real, p, param);
    if (!fs.statSync(real).isDirectory()) throw new ApiError(400, `${param}: ${p} is not a folder`, { param });
    return real;
  }

  /** Refuses (403) a file inside an accepted folder that is a symlink leading out of the allowed folders. */
  checkFile(file: string, param: string): void {
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch {
      return; // missing: the reader reports it
    }
    this.check(real, path.basename(file), param);
  }

  private check(real: string, shown: string, param: string): void {
    if (!this.contains(real)) {
      throw new ApiError(403, `${param}: ${shown} is outside the folders this server allows`, { param, code: 'path_not_allowed' });
    }
  }
}
