/**
 * A deterministic stand-in for the ONNX encoder in brokerless pipeline tests (the real model is
 * covered by the model tests). Its hidden state is an exponential average of a fixed pseudo-random
 * vector per category, so the embedding really follows the user's recent categories, and the
 * inactivity logit is a constant the test chooses. It also records every call.
 */
import type { Encoder, EncoderRow, EncoderRowOutput } from '../../src/model/encoder';
import type { ModelManifest } from '../../src/model/model-manifest';
import { rng } from '../../src/sim/simulator';

export const FAKE_H = 8;

function categoryVector(index: number): Float32Array {
  const r = rng(1000 + index);
  return Float32Array.from({ length: FAKE_H }, () => r() * 2 - 1);
}

export class FakeEncoder implements Encoder {
  readonly provider = 'cpu' as const;
  readonly calls: number[] = [];
  constructor(
    public inactivityLogit = -1.5,
    private readonly decay = 0.7,
  ) {}

  encode(rows: readonly EncoderRow[]): Promise<EncoderRowOutput[]> {
    this.calls.push(rows.length);
    return Promise.resolve(
      rows.map((r) => {
        const h = Float32Array.from(r.h0 ?? new Float32Array(FAKE_H));
        r.categoryIndices.forEach((c) => {
          const v = categoryVector(c);
          for (let i = 0; i < FAKE_H; i++)
            h[i] = this.decay * (h[i] as number) + (1 - this.decay) * (v[i] as number);
        });
        const n = Math.hypot(...h) || 1;
        return {
          h,
          embedding: h.map((x) => x / n),
          nextCategoryLogits: new Float32Array(4),
          inactivityLogit: this.inactivityLogit,
        };
      }),
    );
  }

  dispose(): Promise<void> {
    return Promise.resolve();
  }
}

/** A manifest matching FakeEncoder: categories c0…c99 are in the vocabulary, others are OOV. */
export function fakeManifest(): ModelManifest {
  const ids = Array.from({ length: 100 }, (_, i) => `c${i}`);
  return {
    modelVersion: '0.0.0-fake',
    opset: 17,
    inputs: [],
    outputs: [],
    hiddenSize: FAKE_H,
    embeddingDim: FAKE_H,
    vocabSize: 102,
    padIndex: 0,
    oovIndex: 1,
    categoryIndex: new Map(ids.map((id, i) => [id, i + 2])),
    categoryIds: ['', '<oov>', ...ids],
    eventTypeIndex: { view: 1, click: 1, cart: 2, favorite: 3, purchase: 4 },
    gapClipSeconds: 2_592_000,
    inactivityHorizonMs: 86_400_000,
    segments: [0, 1, 2].map((i) => ({
      id: i,
      label: `segment ${i}`,
      centroid: categoryVector(50 + i),
      topCategories: [],
    })),
    raw: {},
  };
}
