import type { ChurnRisk } from '../../../src/kafka/avro-types.gen';
import { churnRecordProblem } from '../../../src/kafka/alert-bridge';

const record: ChurnRisk = {
  alertId: '0123456789abcdef0123456789abcdef',
  userId: 'u1',
  level: 'HIGH',
  previousLevel: 'MEDIUM',
  status: 'RAISED',
  replacesAlertId: 'fedcba9876543210fedcba9876543210',
  resolution: null,
  scoredAtEventTimeMs: Date.UTC(2026, 10, 1),
  riskScore: 0.9,
  idleMs: 3_600_000,
  lastEventTimeMs: Date.UTC(2026, 9, 31),
  reasons: [{ code: 'IDLE_TIME', value: 1, detail: 'idle' }],
  trigger: 'EVENT_TIME_TIMER',
  modelVersion: 'm',
};

describe('churn records the bridge cannot turn into alerts', () => {
  it('accepts what the service writes', () => {
    expect(churnRecordProblem(record)).toBeNull();
    expect(churnRecordProblem({ ...record, replacesAlertId: null })).toBeNull();
  });

  it('names a time no date holds and an alert id Alertmanager cannot be asked about', () => {
    const code = (over: Partial<ChurnRisk>): string | undefined =>
      churnRecordProblem({ ...record, ...over })?.code;
    expect(code({ scoredAtEventTimeMs: 9e15 })).toBe('VALIDATE_TIMESTAMP_OUT_OF_RANGE');
    expect(code({ lastEventTimeMs: -9e15 })).toBe('VALIDATE_TIMESTAMP_OUT_OF_RANGE');
    expect(code({ alertId: '' })).toBe('VALIDATE_FIELD_INVALID');
    expect(code({ alertId: 'a\nb' })).toBe('VALIDATE_FIELD_INVALID');
    expect(code({ replacesAlertId: 'x'.repeat(257) })).toBe('VALIDATE_FIELD_INVALID');
    expect(code({ alertId: 'x'.repeat(256) })).toBeUndefined();
  });
});
