// Where the real test checkpoints live (../shared/models beside the project) and the skip reason when they don't.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export function sharedModels(): { dir: string; skip: string | false } {
  const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
  const dir = join(root, '..', 'shared', 'models');
  return { dir, skip: existsSync(dir) ? false : `test models not found at ${dir} (../shared/models)` };
}
