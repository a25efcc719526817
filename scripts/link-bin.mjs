// `npx portolan` inside this folder looks for node_modules/.bin/portolan, but npm never links a
// package's own bin into its own node_modules. Link it, so the README's first two lines work.
import { existsSync, lstatSync, mkdirSync, readlinkSync, symlinkSync, unlinkSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const binDir = join(root, 'node_modules', '.bin');
const link = join(binDir, 'portolan');
const target = join('..', '..', 'bin', 'portolan.js');
// Only in a checkout of portolan itself (installed as a dependency, npm links the bin already).
if (!existsSync(join(root, '.git')) && !existsSync(join(root, 'src'))) process.exit(0);
mkdirSync(binDir, { recursive: true });
try {
  if (lstatSync(link).isSymbolicLink() && readlinkSync(link) === target) process.exit(0);
  unlinkSync(link);
} catch {
  // No link yet.
}
symlinkSync(target, link);
