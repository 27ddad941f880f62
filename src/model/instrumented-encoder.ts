/** Wraps an Encoder to observe rows per call and call latency by provider (no data, no user ids). */
import type { Histogram } from 'prom-client';
import type { EncodeOptions, Encoder, EncoderRow, EncoderRowOutput } from './encoder';

export function instrumentEncoder(
  inner: Encoder,
  rows: Histogram,
  latencySeconds: Histogram<'provider'>,
  nowMs: () => number = () => performance.now(),
): Encoder {
  return {
    get provider() {
      return inner.provider;
    },
    async encode(batch: readonly EncoderRow[], options?: EncodeOptions): Promise<EncoderRowOutput[]> {
      const t0 = nowMs();
      const out = await inner.encode(batch, options);
      latencySeconds.observe({ provider: inner.provider }, (nowMs() - t0) / 1000);
      rows.observe(batch.length);
      return out;
    },
    dispose: () => inner.dispose(),
  };
}
