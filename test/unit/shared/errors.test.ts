import {
  ErrorCodes,
  ProcessorError,
  describeError,
  failureClass,
  isFatal,
  isProcessorError,
  isRetriable,
} from '../../../src/shared/errors';

describe('error root', () => {
  it('gives every code exactly one failure class', () => {
    for (const [code, f] of Object.entries(ErrorCodes)) {
      expect([f.retriable, f.badRecord, f.fatal].filter(Boolean)).toHaveLength(1);
      expect(code).toMatch(/^[A-Z_]+$/);
    }
  });

  it('classifies bad records, transient dependencies and bugs', () => {
    expect(failureClass(new ProcessorError('DECODE_BAD_MAGIC', 'x'))).toBe('dead-letter');
    expect(failureClass(new ProcessorError('REGISTRY_UNAVAILABLE', 'x'))).toBe('retry');
    expect(failureClass(new ProcessorError('KAFKA_FENCED', 'x'))).toBe('retry');
    expect(failureClass(new ProcessorError('INVARIANT_VIOLATED', 'x'))).toBe('crash');
    expect(failureClass(new TypeError('undefined is not a function'))).toBe('crash');
    expect(isFatal(new ProcessorError('KAFKA_AUTHORIZATION_FAILED', 'x'))).toBe(true);
    expect(isRetriable(new ProcessorError('KAFKA_TRANSIENT', 'x'))).toBe(true);
    expect(isRetriable(new Error('plain'))).toBe(false);
  });

  it('is recognised by brand, and described without data beyond the messages', () => {
    const e = new ProcessorError('KAFKA_TRANSIENT', 'txn failed', { cause: new Error('broker gone') });
    expect(isProcessorError(e)).toBe(true);
    expect(isProcessorError({ code: e.code, retriable: true, message: e.message })).toBe(false);
    expect(describeError(e)).toBe('KAFKA_TRANSIENT: txn failed (cause: Error: broker gone)');
  });
});
