import { EMPTY_WINDOW, windowLength } from '../../../src/core/event-window';
import { existsSync, readFileSync } from 'node:fs';
import { EMPTY_HISTOGRAM } from '../../../src/core/decayed-histogram';
import type { HeadVocabulary, NextCategoryHeadWeights } from '../../../src/core/next-category-head';
import {
  HEAD_FEATURES,
  candidateFeatures,
  checkHeadWeights,
  headScores,
  rankNextCategories,
} from '../../../src/core/next-category-head';
import { DEFAULT_PARAMS } from '../../../src/core/params';
import type { CategoryHistory } from '../../../src/core/user-state';
import { advanceCategoryHistory } from '../../../src/core/user-state';

const NF = HEAD_FEATURES.length;
const T0 = 1_700_000_000_000;
const MIN = 60_000;

// Vocabulary: 0 padding, 1 out-of-vocabulary, 2.. = a, b, c, d.
const VOCAB: HeadVocabulary = {
  categoryIds: ['', '<oov>', 'a', 'b', 'c', 'd'],
  categoryIndex: new Map([
    ['a', 2],
    ['b', 3],
    ['c', 4],
    ['d', 5],
  ]),
  oovIndex: 1,
};

function history(events: [string, number][]): CategoryHistory {
  let h: CategoryHistory = { window: EMPTY_WINDOW, shortHorizon: EMPTY_HISTOGRAM, eventCount: 0 };
  for (const [categoryId, minute] of events) {
    const { window, shortHorizon, eventCount } = advanceCategoryHistory(
      h,
      { categoryId, kind: 'view', eventTimeMs: T0 + minute * MIN },
      DEFAULT_PARAMS,
    );
    h = { window, shortHorizon, eventCount };
  }
  return h;
}

function feature(
  c: { categoryIds: readonly string[]; features: Float64Array },
  id: string,
  name: string,
): number {
  const row = c.categoryIds.indexOf(id);
  expect(row).toBeGreaterThanOrEqual(0);
  return c.features[row * NF + HEAD_FEATURES.indexOf(name as (typeof HEAD_FEATURES)[number])] as number;
}

/** A one-unit head whose score is `weight` × (standardised) feature `name`. */
function oneFeatureHead(name: string, weight = 1): NextCategoryHeadWeights {
  const w1 = HEAD_FEATURES.map((f) => [f === name ? weight : 0]);
  return {
    version: 'test',
    features: [...HEAD_FEATURES],
    modelCandidates: 10,
    mean: HEAD_FEATURES.map(() => 0),
    scale: HEAD_FEATURES.map(() => 1),
    w1,
    b1: [10],
    w2: [1],
  };
}

describe('advanceCategoryHistory', () => {
  it('keeps the last windowEvents events and names the entry that becomes referenceLagEvents old', () => {
    let h: CategoryHistory = { window: EMPTY_WINDOW, shortHorizon: EMPTY_HISTOGRAM, eventCount: 0 };
    const lagged: (string | undefined)[] = [];
    for (let i = 0; i < DEFAULT_PARAMS.windowEvents + 5; i++) {
      const step = advanceCategoryHistory(
        h,
        { categoryId: `c${i}`, kind: 'view', eventTimeMs: T0 + i },
        DEFAULT_PARAMS,
      );
      lagged.push(step.lagged?.categoryId);
      h = step;
    }
    expect(windowLength(h.window)).toBe(DEFAULT_PARAMS.windowEvents);
    expect(h.window.categories[DEFAULT_PARAMS.windowEvents - 1]).toBe(`c${DEFAULT_PARAMS.windowEvents + 4}`);
    expect(h.eventCount).toBe(DEFAULT_PARAMS.windowEvents + 5);
    const lag = DEFAULT_PARAMS.referenceLagEvents;
    expect(lagged[lag - 1]).toBeUndefined();
    expect(lagged[lag]).toBe('c0');
    expect(lagged[lag + 20]).toBe('c20');
  });
});

describe('candidateFeatures', () => {
  const h = history([
    ['a', 0],
    ['x', 10],
    ['b', 20],
    ['b', 21],
    ['b', 22],
  ]);
  const logits = new Float32Array([0, 0.5, 3, 1, 2, -1]);
  const c = candidateFeatures(h, logits, VOCAB, 2);

  it('takes the model’s top candidates, the window and the short horizon, in id order', () => {
    // Model top 2 of a..d: a (3), c (2); history adds x (out of vocabulary) and b.
    expect(c.categoryIds).toEqual(['a', 'b', 'c', 'x']);
    expect(c.features).toHaveLength(4 * NF);
  });

  it('computes log-softmax over every index but padding, OOV ids using the OOV logit', () => {
    const logZ = Math.log([0.5, 3, 1, 2, -1].reduce((s, v) => s + Math.exp(v), 0));
    expect(feature(c, 'a', 'model_log_prob')).toBeCloseTo(3 - logZ, 6);
    expect(feature(c, 'x', 'model_log_prob')).toBeCloseTo(0.5 - logZ, 6);
    expect(feature(c, 'x', 'out_of_vocabulary')).toBe(1);
    expect(feature(c, 'a', 'out_of_vocabulary')).toBe(0);
    expect(feature(c, 'a', 'log1p_model_rank')).toBeCloseTo(Math.log1p(0), 9);
    expect(feature(c, 'b', 'log1p_model_rank')).toBeCloseTo(Math.log1p(2), 9);
  });

  it('describes recency, runs and counts from the window', () => {
    expect(feature(c, 'b', 'is_last')).toBe(1);
    expect(feature(c, 'b', 'log1p_last_run_events')).toBeCloseTo(Math.log1p(3), 9);
    expect(feature(c, 'b', 'log1p_recency_rank')).toBeCloseTo(Math.log1p(0), 9);
    expect(feature(c, 'x', 'log1p_recency_rank')).toBeCloseTo(Math.log1p(1), 9);
    expect(feature(c, 'a', 'log1p_recency_rank')).toBeCloseTo(Math.log1p(2), 9);
    expect(feature(c, 'a', 'log1p_hours_since_seen')).toBeCloseTo(Math.log1p(22 / 60), 9);
    expect(feature(c, 'b', 'window_share')).toBeCloseTo(3 / 5, 9);
    expect(feature(c, 'c', 'in_window')).toBe(0);
    expect(feature(c, 'c', 'log1p_recency_rank')).toBeCloseTo(Math.log1p(5), 9);
    expect(feature(c, 'c', 'log1p_hours_since_seen')).toBeCloseTo(Math.log1p(22 / 60 + 24), 9);
    expect(feature(c, 'a', 'log1p_window_distinct')).toBeCloseTo(Math.log1p(3), 9);
    expect(feature(c, 'a', 'log1p_event_count')).toBeCloseTo(Math.log1p(5), 9);
    expect(feature(c, 'b', 'short_horizon_share')).toBeGreaterThan(feature(c, 'a', 'short_horizon_share'));
  });
});

describe('rankNextCategories', () => {
  const h = history([
    ['a', 0],
    ['b', 5],
  ]);
  const logits = new Float32Array([0, 0, 1, 0, 5, 0]);

  it('follows what the weights favour: the model’s choice or the last category', () => {
    expect(rankNextCategories(oneFeatureHead('model_log_prob'), h, logits, VOCAB)[0]?.categoryId).toBe('c');
    expect(rankNextCategories(oneFeatureHead('is_last'), h, logits, VOCAB)[0]?.categoryId).toBe('b');
  });

  it('gives probabilities that sum to 1, ties broken by category id', () => {
    const ranked = rankNextCategories(oneFeatureHead('is_last', 0), h, logits, VOCAB);
    expect(ranked.reduce((s, r) => s + r.probability, 0)).toBeCloseTo(1, 12);
    expect(ranked.map((r) => r.categoryId)).toEqual([...ranked.map((r) => r.categoryId)].sort());
  });
});

describe('checkHeadWeights', () => {
  it('accepts a well-formed head and lists every problem of a broken one', () => {
    expect(checkHeadWeights(oneFeatureHead('is_last'))).toEqual([]);
    const broken = {
      ...oneFeatureHead('is_last'),
      features: ['x'],
      w2: [1, 2],
      scale: HEAD_FEATURES.map(() => 0),
      modelCandidates: 3,
    };
    expect(checkHeadWeights(broken)).toHaveLength(4);
  });
});

describe('the committed head', () => {
  const path = 'onnx/artifacts/next-category-head.json';
  const committed = existsSync(path)
    ? (JSON.parse(readFileSync(path, 'utf8')) as NextCategoryHeadWeights & {
        golden: { features: number[][]; scores: number[] };
      })
    : null;

  it('exists and matches this code’s features', () => {
    expect(committed).not.toBeNull();
    expect(checkHeadWeights(committed as NextCategoryHeadWeights)).toEqual([]);
  });

  it('scores the golden feature rows as the trainer did (onnx/train_next_category_head.py)', () => {
    const g = (committed as { golden: { features: number[][]; scores: number[] } }).golden;
    expect(g.features.length).toBeGreaterThanOrEqual(8);
    const scores = headScores(
      committed as NextCategoryHeadWeights,
      Float64Array.from(g.features.flat()),
      g.features.length,
    );
    scores.forEach((s, i) => expect(s).toBeCloseTo(g.scores[i] as number, 9));
  });
});
