import { isProcessorError } from '../../../src/shared/errors';
import { parseProviderChoice, providerAttempts } from '../../../src/model/execution-providers';

describe('execution provider table', () => {
  it('tries CUDA first only when auto and CUDA looks available', () => {
    expect(providerAttempts('auto', null)).toEqual(['cuda', 'cpu']);
    expect(providerAttempts('auto', 'no NVIDIA device is visible')).toEqual(['cpu']);
    expect(providerAttempts('cuda', null)).toEqual(['cuda']);
    expect(providerAttempts('cpu', null)).toEqual(['cpu']);
  });

  it('rejects unknown choices with "should be one of"', () => {
    try {
      parseProviderChoice('tpu');
      throw new Error('accepted');
    } catch (e) {
      expect(isProcessorError(e) && e.message).toContain('should be one of auto, cuda, cpu');
    }
  });
});
