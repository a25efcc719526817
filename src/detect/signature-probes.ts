/**
 * Signatures from user files and Recog databases, wired into the runner: probes a user defined
 * become detectors (so they are ordered, budgeted and capped like built-in ones), and field
 * signatures enrich what a built-in detector found.
 */
import type { Signature, SignatureProbe } from './signature.js';
import { matchSignatures, TEMPLATE_FIELDS } from './signature.js';
import type { Detector, Identification } from './types.js';

/** One detector per user probe; its reply is matched against the signatures naming that probe. */
export function probeDetectors(probes: readonly SignatureProbe[], signatures: readonly Signature[]): Detector[] {
  return probes.map((probe) => {
    const sigs = signatures.filter((s) => s.probe?.name === probe.name);
    const matches = (data: Buffer): Identification | undefined => matchSignatures(sigs, data);
    const detector: Detector = {
      name: `user:${probe.name}`,
      ports: probe.tls === true ? [] : probe.ports,
      ...(probe.tls === true && { tlsPorts: probe.ports }),
      rarity: probe.rarity,
      probe: async ({ session, timing }) => {
        if (probe.tls === true && session.target.tunnel !== 'ssl') return undefined;
        if (probe.tls === false && session.target.tunnel === 'ssl') return undefined;
        session.send(probe.payload);
        await session.read(timing.replyMs, (d) => matches(d) !== undefined);
        return matches(session.received);
      },
    };
    return detector;
  });
}

/**
 * Apply field signatures (matching `ssh.banner`, `http_header.server`, …) to an identification:
 * they fill in what the built-in detector left open, and a version they read wins over none.
 */
export function mergeFieldSignatures(id: Identification, signatures: readonly Signature[]): Identification {
  if (!id.fields || signatures.length === 0) return id;
  const fieldSigs = signatures.filter((s) => s.field !== undefined && s.probe === undefined);
  if (fieldSigs.length === 0) return id;
  const extra = matchSignatures(fieldSigs, undefined, id.fields);
  if (!extra) return id;
  const out: Identification = { ...id };
  for (const k of TEMPLATE_FIELDS) {
    if (out[k] === undefined && extra[k] !== undefined) out[k] = extra[k];
  }
  if (extra.cpe && extra.cpe.length > 0) out.cpe = [...new Set([...(out.cpe ?? []), ...extra.cpe])];
  out.confidence = Math.max(out.confidence, extra.confidence);
  return out;
}
