// Builds the optional native connect path (Linux epoll). A failed build is not fatal:
// portolan falls back to its pure-JS socket path (`portolan scan -v` says which path it uses).
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
if (process.platform !== 'linux' || process.env.PORTOLAN_NO_NATIVE === '1' || !existsSync(join(root, 'binding.gyp'))) {
  process.exit(0);
}
let gyp;
try {
  gyp = createRequire(process.execPath).resolve('npm/node_modules/node-gyp/bin/node-gyp.js');
} catch {
  const guess = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  gyp = existsSync(guess) ? guess : undefined;
}
const cmd = process.env.npm_config_node_gyp || gyp;
if (!cmd) {
  console.warn('portolan: node-gyp not found; using the pure-JS socket path');
  process.exit(0);
}
// Build against the headers of the running Node when they are installed beside it (distribution
// packages, official tarballs), so no header download is needed.
const args = [cmd, 'rebuild'];
const prefix = join(dirname(process.execPath), '..');
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) console.warn('portolan: native connect path did not build; using the pure-JS socket path');
