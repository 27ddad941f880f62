import { isProcessorError } from '../../../src/shared/errors';
import { checkModelFile, gapFeature, parseManifest } from '../../../src/model/model-manifest';

function meta(overrides: Record<string, unknown> = {}): string {
  return JSON.stringify({
    modelVersion: '1.0.0+abcdef01',
    opset: 17,
    inputs: ['category_ids', 'event_types', 'log_gaps', 'lengths', 'h0'].map((name) => ({
      name,
      dtype: 'x',
      shape: ['B'],
    })),
    outputs: ['h', 'embedding', 'next_category_logits', 'inactivity_logit'].map((name) => ({
      name,
      dtype: 'float32',
      shape: ['B'],
    })),
    hiddenSize: 4,
    embeddingDim: 2,
    categoryVocab: { padIndex: 0, oovIndex: 1, ids: ['100', '200'] },
    eventTypeIndex: { view: 1, click: 1, cart: 2, favorite: 3, purchase: 4 },
    gapFeature: { kind: 'log1p_seconds', clipSeconds: 100 },
    inactivity: { horizonMs: 86_400_000 },
    segments: [{ id: 0, label: 'seg', centroid: [1, 0], topCategories: [{ id: '100', share: 0.5 }] }],
    ...overrides,
  });
}

function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (isProcessorError(e)) return `${e.code}: ${e.message}`;
    throw e;
  }
  return 'accepted';
}

describe('model manifest', () => {
  it('maps raw category ids to vocabulary indices after pad and OOV', () => {
    const m = parseManifest(meta());
    expect(m.categoryIndex.get('100')).toBe(2);
    expect(m.categoryIndex.get('200')).toBe(3);
    expect(m.vocabSize).toBe(4);
    expect(m.categoryIds[3]).toBe('200');
  });

  it('refuses metadata that does not match the runtime contract', () => {
    expect(errorOf(() => parseManifest('{'))).toContain('MODEL_INVALID');
    expect(errorOf(() => parseManifest(meta({ outputs: [] })))).toContain('missing output h');
    expect(errorOf(() => parseManifest(meta({ gapFeature: { kind: 'raw_ms', clipSeconds: 1 } })))).toContain(
      'not supported',
    );
    expect(errorOf(() => parseManifest(meta({ segments: [{ id: 0, centroid: [1, 2, 3] }] })))).toContain(
      'centroid should have 2 numbers',
    );
  });

  it('checks the model file against the version hash', () => {
    const m = parseManifest(meta());
    expect(errorOf(() => checkModelFile(m, Buffer.from('not the model')))).toContain(
      'does not match metadata version',
    );
  });

  it('computes the gap feature as log1p of clipped seconds', () => {
    const m = parseManifest(meta());
    expect(gapFeature(m, null)).toBe(0);
    expect(gapFeature(m, 9_000)).toBeCloseTo(Math.log1p(9), 12);
    expect(gapFeature(m, 10_000_000)).toBeCloseTo(Math.log1p(100), 12);
  });
});
