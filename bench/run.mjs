// Runs every benchmark and prints its ratio lines; exit 1 if a target was missed.
// Needs a build (npm install) and, for the lab, root with ip and nft.
const all = [];
for (const name of ['loopback-sweep', 'lab', 'memory', 'detect', 'import', 'store']) {
  if (process.argv.length > 2 && !process.argv.slice(2).includes(name)) continue;
  const mod = await import(`./${name}.mjs`);
  all.push(...(mod.results ?? []));
}
console.log('\nsummary:');
for (const r of all) console.log(`  ${r.line}`);
process.exitCode = all.every((r) => r.ok) ? 0 : 1;
