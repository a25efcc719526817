/**
 * The runner's path for a server-first protocol, on a scripted server: read the greeting,
 * identify it, run the detector's follow-up on the same connection. Tests look at what the
 * follow-up concluded and at every byte it sent.
 */
import { expect } from 'vitest';
import { ScriptedSession, type Script } from '../../src/detect/scripted-session.js';
import type { Detector, Identification, ProbeTiming, Target } from '../../src/detect/types.js';

export interface FollowOptions {
  /** When the greeting is whole (default: a line). */
  greetingComplete?: (data: Buffer) => boolean;
  timing?: ProbeTiming;
}

/** Greet, identify and follow up on a ScriptedSession; `sent` is everything the detector sent, as Latin-1. */
export async function followScripted(detector: Detector, script: Script, target: Partial<Target>, opts: FollowOptions = {}): Promise<{ id: Identification; sent: string }> {
  const session = new ScriptedSession(script, target);
  await session.read(1000, opts.greetingComplete ?? ((d) => d.includes(0x0a)));
  const previous = detector.greeting!(session.received, session.target);
  expect(previous).toBeDefined();
  const id = await detector.followUp!({ session, timing: opts.timing ?? { replyMs: 1000, settleMs: 100 }, intensity: 7, previous: previous! });
  return { id, sent: session.sent.toString('latin1') };
}
