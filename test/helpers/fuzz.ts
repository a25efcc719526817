/**
 * Deterministic input mutation for importer fuzz runs: bit flips, byte insertions and deletions,
 * truncation, duplicated and swapped slices, and splices of hostile snippets (entities, NULs,
 * huge numbers, control characters). Same seed, same inputs.
 */

/** A small, fast PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SNIPPETS = [
  '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>',
  '<!ENTITY ext SYSTEM "file:///etc/passwd">',
  '&ext;', '&#0;', '&#xffffffff;', '\u0000', '\u001b[2J', '"', "'", '<', '>', ']]>', '{', '}', '[', ']', ',', ':', '\t', '\r\n',
  '99999999999999999999', '-1', '65536', 'NaN', '1e309', '0x1F', '\uffff', '\ud800', '::ffff:1.2.3.4', '999.999.999.999',
];

/** `count` mutants of `seed`, each from 1 to 4 stacked mutations. */
export function* mutants(seed: Buffer, count: number, rngSeed = 1): Generator<Buffer> {
  const rand = prng(rngSeed);
  const int = (n: number): number => Math.floor(rand() * Math.max(1, n));
  for (let i = 0; i < count; i++) {
    let b = Buffer.from(seed);
    const steps = 1 + int(4);
    for (let s = 0; s < steps; s++) {
      const at = int(b.length + 1);
      switch (int(7)) {
        case 0: // bit flip
          if (b.length > 0) b[at % b.length] = (b[at % b.length] ?? 0) ^ (1 << int(8));
          break;
        case 1: // random byte insert
          b = Buffer.concat([b.subarray(0, at), Buffer.from([int(256)]), b.subarray(at)]);
          break;
        case 2: // delete a run
          b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1 + int(16))]);
          break;
        case 3: // truncate
          b = b.subarray(0, at);
          break;
        case 4: {
          // duplicate a slice
          const len = int(64);
          b = Buffer.concat([b.subarray(0, at), b.subarray(at, at + len), b.subarray(at)]);
          break;
        }
        case 5: // hostile snippet
          b = Buffer.concat([b.subarray(0, at), Buffer.from(SNIPPETS[int(SNIPPETS.length)]!, 'utf8'), b.subarray(at)]);
          break;
        default: {
          // swap two slices
          const a2 = int(b.length);
          const len = int(32);
          b = Buffer.concat([b.subarray(0, at), b.subarray(a2, a2 + len), b.subarray(at + len)]);
        }
      }
    }
    yield b;
  }
}
