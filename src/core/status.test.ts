import { describe, expect, it } from 'vitest';
import { Outcome, isAnswer, outcomeFromErrno, verdictOf } from './status.js';

describe('status', () => {
  it('maps outcomes to nmap states and reasons', () => {
    expect(verdictOf(Outcome.Connected)).toEqual({ state: 'open', reason: 'syn-ack' });
    expect(verdictOf(Outcome.Refused)).toEqual({ state: 'closed', reason: 'conn-refused' });
    expect(verdictOf(Outcome.Timeout)).toEqual({ state: 'filtered', reason: 'no-response' });
    expect(verdictOf(Outcome.AdminProhibited)).toEqual({ state: 'filtered', reason: 'admin-prohibited' });
  });
  it('never turns our own limits into a port state', () => {
    expect(verdictOf(Outcome.LocalLimit)).toBeUndefined();
    expect(verdictOf(Outcome.SelfConnect)).toBeUndefined();
    for (const code of ['EMFILE', 'ENFILE', 'EADDRNOTAVAIL', 'ENOBUFS']) expect(outcomeFromErrno(code)).toBe(Outcome.LocalLimit);
  });
  it('counts only answers from the target as answers', () => {
    expect(isAnswer(Outcome.Refused)).toBe(true);
    expect(isAnswer(Outcome.HostUnreach)).toBe(true);
    expect(isAnswer(Outcome.Timeout)).toBe(false);
    expect(isAnswer(Outcome.LocalLimit)).toBe(false);
    expect(outcomeFromErrno('EWHATEVER')).toBe(Outcome.OtherError);
  });
});
