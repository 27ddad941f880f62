/**
 * The committed encoder, run by onnxruntime-node through our Encoder, reproduces the golden
 * vectors written by onnx/export.py (onnxruntime in Python) within 1e-5, and is incremental:
 * feeding a user's events in 3 chunks gives the same final outputs as one pass. Every check runs
 * on both ways the service runs the session: on the event-loop thread and on a worker thread.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLogger } from '../../src/shared/logger';
import type { Encoder, EncoderRow, EncoderRowOutput } from '../../src/model/encoder';
import type { ModelManifest } from '../../src/model/model-manifest';
import { createOnnxEncoder } from '../../src/model/onnx-encoder';
import { createThreadedEncoder } from '../../src/model/encoder-thread';
import { isProcessorError } from '../../src/shared/errors';

const ART = join(__dirname, '..', '..', 'onnx', 'artifacts');
const TOL = 1e-5;

interface GoldenInputs {
  category_ids: number[][];
  event_types: number[][];
  log_gaps: number[][];
  lengths: number[];
  h0: number[][];
}
interface GoldenOutputs {
  h: number[][];
  embedding: number[][];
  next_category_logits: number[][];
  inactivity_logit: number[];
}
interface GoldenCase {
  name: string;
  inputs: GoldenInputs;
  outputs: GoldenOutputs;
}
interface Golden {
  modelVersion: string;
  cases: GoldenCase[];
  incremental: {
    chunks: { inputs: GoldenInputs; outputs: GoldenOutputs }[];
    single: { inputs: GoldenInputs; outputs: GoldenOutputs };
  };
}

const golden = JSON.parse(readFileSync(join(ART, 'golden', 'encoder-golden.json'), 'utf8')) as Golden;

function rows(inputs: GoldenInputs, h0?: Float32Array[]): EncoderRow[] {
  return inputs.lengths.map((n, b) => ({
    categoryIndices: (inputs.category_ids[b] as number[]).slice(0, n),
    eventTypeIndices: (inputs.event_types[b] as number[]).slice(0, n),
    logGaps: (inputs.log_gaps[b] as number[]).slice(0, n),
    h0: h0?.[b] ?? Float32Array.from(inputs.h0[b] as number[]),
  }));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function compare(out: EncoderRowOutput[], expected: GoldenOutputs): number {
  let worst = 0;
  out.forEach((o, b) => {
    worst = Math.max(
      worst,
      maxAbsDiff(o.h, expected.h[b] as number[]),
      maxAbsDiff(o.embedding, expected.embedding[b] as number[]),
      maxAbsDiff(o.nextCategoryLogits, expected.next_category_logits[b] as number[]),
      Math.abs(o.inactivityLogit - (expected.inactivity_logit[b] as number)),
    );
  });
  return worst;
}

const OPTIONS = {
  modelPath: join(ART, 'encoder.onnx'),
  manifestPath: join(ART, 'encoder.meta.json'),
  provider: 'cpu' as const,
};
const CREATE = {
  'the event-loop thread': () => createOnnxEncoder(OPTIONS, createLogger('warn')),
  'a worker thread': () => createThreadedEncoder({ ...OPTIONS, logLevel: 'warn' }, createLogger('warn')),
};

describe.each(Object.keys(CREATE) as (keyof typeof CREATE)[])(
  'ONNX encoder (committed model) on %s',
  (where) => {
    let encoder: Encoder;
    let manifest: ModelManifest;

    beforeAll(async () => {
      ({ encoder, manifest } = await CREATE[where]());
    });

    afterAll(async () => {
      await encoder.dispose();
    });

    it('is the model the golden vectors were written for', () => {
      expect(golden.modelVersion).toBe(manifest.modelVersion);
      expect(golden.cases.length).toBeGreaterThanOrEqual(3);
    });

    it.each(golden.cases.map((c) => [c.name, c] as const))(
      'reproduces golden case %s within 1e-5',
      async (_name, c) => {
        const out = await encoder.encode(rows(c.inputs), { withLogits: true });
        expect(out).toHaveLength(c.inputs.lengths.length);
        expect(out[0]?.h).toHaveLength(manifest.hiddenSize);
        expect(out[0]?.embedding).toHaveLength(manifest.embeddingDim);
        expect(out[0]?.nextCategoryLogits).toHaveLength(manifest.vocabSize);
        expect(compare(out, c.outputs)).toBeLessThanOrEqual(TOL);
      },
    );

    it('is incremental: 3 chunks carrying h give the outputs of one pass', async () => {
      const single = await encoder.encode(rows(golden.incremental.single.inputs), { withLogits: true });
      expect(compare(single, golden.incremental.single.outputs)).toBeLessThanOrEqual(TOL);
      let h: Float32Array | undefined;
      let last: EncoderRowOutput[] = [];
      for (const chunk of golden.incremental.chunks) {
        last = await encoder.encode(rows(chunk.inputs, h ? [h] : undefined), { withLogits: true });
        h = last[0]?.h;
      }
      expect(compare(last, golden.incremental.single.outputs)).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(last[0]?.h ?? [], single[0]?.h ?? [])).toBeLessThanOrEqual(TOL);
      expect(maxAbsDiff(last[0]?.embedding ?? [], single[0]?.embedding ?? [])).toBeLessThanOrEqual(TOL);
    });

    it('gives the same per-event outputs one event at a time as in one call (what the processor relies on)', async () => {
      const one = golden.incremental.single.inputs;
      const n = one.lengths[0] as number;
      let h: Float32Array | null = null;
      let stepped: EncoderRowOutput | undefined;
      for (let t = 0; t < n; t++) {
        const r: EncoderRow = {
          categoryIndices: [one.category_ids[0]?.[t] as number],
          eventTypeIndices: [one.event_types[0]?.[t] as number],
          logGaps: [one.log_gaps[0]?.[t] as number],
          h0: h,
        };
        [stepped] = await encoder.encode([r], { withLogits: true });
        h = stepped?.h ?? null;
      }
      expect(compare([stepped as EncoderRowOutput], golden.incremental.single.outputs)).toBeLessThanOrEqual(
        TOL,
      );
    });

    it('does not compute the vocabulary-sized head unless asked', async () => {
      const [o] = await encoder.encode(rows(golden.cases[0]?.inputs as GoldenInputs));
      expect(o?.nextCategoryLogits).toHaveLength(0);
      expect(o?.h).toHaveLength(manifest.hiddenSize);
    });

    it('rejects malformed rows with shapes in the message, not data', async () => {
      await expect(
        encoder.encode([{ categoryIndices: [2, 3], eventTypeIndices: [1], logGaps: [0, 0], h0: null }]),
      ).rejects.toThrow('row 0 has 2 categories, 1 types, 2 gaps');
      await expect(
        encoder.encode([
          { categoryIndices: [manifest.vocabSize + 5], eventTypeIndices: [1], logGaps: [0], h0: null },
        ]),
      ).rejects.toThrow('outside the vocabulary');
    });
  },
);

describe('ONNX encoder on a worker thread', () => {
  it('gives bit for bit the outputs of the event-loop thread, with calls in flight together', async () => {
    const local = await createOnnxEncoder(OPTIONS, createLogger('warn'));
    const threaded = await createThreadedEncoder({ ...OPTIONS, logLevel: 'warn' }, createLogger('warn'));
    try {
      let seed = 11;
      const rnd = (n: number): number => (seed = (seed * 48271) % 2147483647) % n;
      const V = local.manifest.vocabSize;
      const batches = Array.from({ length: 8 }, (_, k) =>
        Array.from({ length: 1 + rnd(40) }, () => {
          const n = 1 + rnd(4);
          return {
            categoryIndices: Array.from({ length: n }, () => 1 + rnd(V - 1)),
            eventTypeIndices: Array.from({ length: n }, () => 1 + rnd(4)),
            logGaps: Array.from({ length: n }, () => rnd(1000) / 100),
            h0:
              k % 2 === 0
                ? null
                : Float32Array.from({ length: local.manifest.hiddenSize }, () => rnd(200) / 100 - 1),
          };
        }),
      );
      const [there, here] = await Promise.all([
        Promise.all(batches.map((b, k) => threaded.encoder.encode(b, { withLogits: k === 3 }))),
        Promise.all(batches.map((b, k) => local.encoder.encode(b, { withLogits: k === 3 }))),
      ]);
      here.forEach((outs, k) =>
        outs.forEach((o, b) => {
          const t = there[k]?.[b] as EncoderRowOutput;
          expect(Array.from(t.h)).toEqual(Array.from(o.h));
          expect(Array.from(t.embedding)).toEqual(Array.from(o.embedding));
          expect(Array.from(t.nextCategoryLogits)).toEqual(Array.from(o.nextCategoryLogits));
          expect(t.inactivityLogit).toBe(o.inactivityLogit);
        }),
      );
    } finally {
      await local.encoder.dispose();
      await threaded.encoder.dispose();
    }
  });

  it('fails to start with the loader’s code when the model cannot be read', async () => {
    const failure = await createThreadedEncoder(
      { ...OPTIONS, modelPath: join(ART, 'no-such-model.onnx'), logLevel: 'warn' },
      createLogger('warn'),
    ).catch((e: unknown) => e);
    expect(isProcessorError(failure) && failure.code).toBe('MODEL_INVALID');
  });

  it('rejects a call after dispose', async () => {
    const { encoder } = await createThreadedEncoder({ ...OPTIONS, logLevel: 'warn' }, createLogger('warn'));
    await encoder.dispose();
    await expect(
      encoder.encode([{ categoryIndices: [2], eventTypeIndices: [1], logGaps: [0], h0: null }]),
    ).rejects.toThrow('after dispose');
  });
});
