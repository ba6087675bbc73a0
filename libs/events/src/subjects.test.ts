import { describe, expect, it } from 'vitest';
import {
  SubjectError,
  allTenantsSubject,
  callControlServeSubject,
  callControlSubject,
  deadLetterSubject,
  eventSubject,
  tenantOfSubject,
} from './subjects.js';

describe('subjects', () => {
  it('builds sb.<tenant>.<domain>.<event>', () => {
    expect(eventSubject('t-kropp', 'call', 'started')).toBe('sb.t-kropp.call.started');
    expect(allTenantsSubject('call', 'ended')).toBe('sb.*.call.ended');
    expect(allTenantsSubject('call')).toBe('sb.*.call.>');
    expect(deadLetterSubject('t-kropp', 'rating-cdr')).toBe('sb.t-kropp.dlq.rating-cdr');
    expect(callControlSubject('t-kropp', 'pbx-1', 'Answer')).toBe('sb.t-kropp.callcontrol.pbx-1.Answer');
    expect(callControlServeSubject('pbx-1', 'Answer')).toBe('sb.*.callcontrol.pbx-1.Answer');
  });

  it('rejects tokens that would change the subject shape', () => {
    expect(() => eventSubject('t.kropp', 'call', 'started')).toThrow(SubjectError);
    expect(() => eventSubject('*', 'call', 'started')).toThrow(/tenant id "\*"/);
    expect(() => eventSubject('t-kropp', 'call', 'ended >')).toThrow(/event/);
    expect(() => eventSubject('', 'call', 'started')).toThrow(SubjectError);
  });

  it('reads the tenant back from a subject', () => {
    expect(tenantOfSubject('sb.t-kropp.call.started')).toBe('t-kropp');
    expect(tenantOfSubject('other.t-kropp.call')).toBeUndefined();
    expect(tenantOfSubject('sb')).toBeUndefined();
  });
});
