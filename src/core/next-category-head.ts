/**
 * Repeat-aware next-category head: ranks the categories a user is likely to act on next by
 * mixing the encoder's softmax over the vocabulary ("explore") with the user's own recent history
 * ("repeat"), in the spirit of RepeatNet. The gate is learned, not fixed: a small MLP scores every
 * candidate from features of both sources, and a softmax over the candidates gives probabilities.
 *
 * Why: shoppers mostly come back to what they just looked at. The encoder alone ranks the right
 * category in its top 10 less often than "most recent categories first"; the head learns when to
 * copy (a long run in one category, a category seen minutes ago) and when to trust the model.
 *
 * Candidates: the model's top `modelCandidates` vocabulary entries, every category of the window
 * and of the short-horizon histogram (so categories outside the vocabulary can still be ranked).
 * Pure and deterministic: candidates and float sums go in category-id order, ties by id.
 */
import { shares } from './decayed-histogram';
import { EVENT_KINDS } from './types';
import type { CategoryHistory } from './user-state';

/** The vocabulary the encoder's logits are indexed by. */
export interface HeadVocabulary {
  /** Raw category id → logit index (≥ 2); unknown ids use oovIndex. */
  readonly categoryIndex: ReadonlyMap<string, number>;
  readonly oovIndex: number;
  /** Logit index → raw category id (entries below 2 unused). */
  readonly categoryIds: readonly string[];
}

/** Learned weights (trained by onnx/train_next_category_head.py, stored as JSON). */
export interface NextCategoryHeadWeights {
  readonly version: string;
  /** Feature names in order; must equal HEAD_FEATURES. */
  readonly features: readonly string[];
  readonly modelCandidates: number;
  /** Standardisation: z = (x − mean) / scale. */
  readonly mean: readonly number[];
  readonly scale: readonly number[];
  /** Hidden layer: w1[f][j], b1[j]; score = Σ_j relu(z·w1[·][j] + b1[j]) · w2[j]. */
  readonly w1: readonly (readonly number[])[];
  readonly b1: readonly number[];
  readonly w2: readonly number[];
}

/** Feature names, in the order of candidateFeatures' rows. Units in the names. */
export const HEAD_FEATURES = [
  'model_log_prob',
  'out_of_vocabulary',
  'short_horizon_share',
  'window_share',
  'in_window',
  'is_last',
  'log1p_recency_rank',
  'log1p_hours_since_seen',
  'log1p_last_run_events',
  'cart_favorite_or_purchase_in_window',
  'log1p_window_count',
  'log1p_model_rank',
  'log1p_window_distinct',
  'log1p_event_count',
] as const;

const HOUR_MS = 3_600_000;

export interface Candidates {
  readonly categoryIds: readonly string[];
  /** Row-major, categoryIds.length × HEAD_FEATURES.length. */
  readonly features: Float64Array;
}

/** Candidate categories and their features. `logits` = the encoder's next_category_logits row. */
export function candidateFeatures(
  history: CategoryHistory,
  logits: Float32Array,
  vocab: HeadVocabulary,
  modelCandidates: number,
): Candidates {
  // Log-softmax over every index ≥ 1 (out-of-vocabulary included; 0 is padding).
  let max = -Infinity;
  for (let k = 1; k < logits.length; k++) max = Math.max(max, logits[k] as number);
  let z = 0;
  for (let k = 1; k < logits.length; k++) z += Math.exp((logits[k] as number) - max);
  const logZ = max + Math.log(z);
  const byLogit = (a: number, b: number): number => (logits[b] as number) - (logits[a] as number) || a - b;
  const ranked: number[] = [];
  for (let k = 2; k < logits.length; k++) ranked.push(k);
  ranked.sort(byLogit);
  const modelRank = new Map<number, number>();
  ranked.forEach((k, r) => modelRank.set(k, r));

  const { categories: cats, kinds, times } = history.window;
  const w = cats.length;
  const recency = new Map<string, number>();
  const lastSeenMs = new Map<string, number>();
  const count = new Map<string, number>();
  const heavy = new Set<string>();
  for (let i = w - 1; i >= 0; i--) {
    const c = cats[i] as string;
    if (!recency.has(c)) {
      recency.set(c, recency.size);
      lastSeenMs.set(c, times[i] as number);
    }
    count.set(c, (count.get(c) ?? 0) + 1);
    const kind = EVENT_KINDS[kinds[i] as number];
    if (kind !== 'view' && kind !== 'click') heavy.add(c);
  }
  const lastCategory = w > 0 ? cats[w - 1] : undefined;
  let run = 0;
  for (let i = w - 1; i >= 0 && cats[i] === lastCategory; i--) run++;
  const nowMs = w > 0 ? (times[w - 1] as number) : 0;
  const spanHours = w > 0 ? (nowMs - (times[0] as number)) / HOUR_MS : 0;
  const shortShares = shares(history.shortHorizon);

  const set = new Set<string>();
  for (const k of ranked.slice(0, modelCandidates)) set.add(vocab.categoryIds[k] as string);
  for (const c of cats) set.add(c);
  for (const c of history.shortHorizon.ids) set.add(c);
  const categoryIds = [...set].sort();

  const nf = HEAD_FEATURES.length;
  const features = new Float64Array(categoryIds.length * nf);
  categoryIds.forEach((c, row) => {
    const idx = vocab.categoryIndex.get(c);
    const rec = recency.get(c);
    const n = count.get(c) ?? 0;
    const isLast = c === lastCategory;
    const f = [
      ((idx === undefined ? logits[vocab.oovIndex] : logits[idx]) as number) - logZ,
      idx === undefined ? 1 : 0,
      shortShares.get(c) ?? 0,
      w > 0 ? n / w : 0,
      rec === undefined ? 0 : 1,
      isLast ? 1 : 0,
      Math.log1p(rec ?? w),
      Math.log1p(rec === undefined ? spanHours + 24 : (nowMs - (lastSeenMs.get(c) as number)) / HOUR_MS),
      isLast ? Math.log1p(run) : 0,
      heavy.has(c) ? 1 : 0,
      Math.log1p(n),
      Math.log1p(idx === undefined ? ranked.length : (modelRank.get(idx) as number)),
      Math.log1p(recency.size),
      Math.log1p(history.eventCount),
    ];
    features.set(f, row * nf);
  });
  return { categoryIds, features };
}

export interface RankedCategory {
  readonly categoryId: string;
  /** Softmax over the candidates, in [0, 1]. */
  readonly probability: number;
}

/** Candidates by descending probability, ties by category id. */
export function rankNextCategories(
  head: NextCategoryHeadWeights,
  history: CategoryHistory,
  logits: Float32Array,
  vocab: HeadVocabulary,
): RankedCategory[] {
  const { categoryIds, features } = candidateFeatures(history, logits, vocab, head.modelCandidates);
  const scores = headScores(head, features, categoryIds.length);
  const max = Math.max(...scores);
  let z = 0;
  for (const s of scores) z += Math.exp(s - max);
  return categoryIds
    .map((categoryId, i) => ({ categoryId, probability: Math.exp((scores[i] as number) - max) / z }))
    .sort((a, b) => b.probability - a.probability || (a.categoryId < b.categoryId ? -1 : 1));
}

/** The head's score (a logit) of each of `rows` candidates; `features` row-major as in Candidates. */
export function headScores(head: NextCategoryHeadWeights, features: Float64Array, rows: number): number[] {
  const nf = HEAD_FEATURES.length;
  const hidden = head.b1.length;
  const z = new Float64Array(nf);
  const scores: number[] = [];
  for (let row = 0; row < rows; row++) {
    for (let f = 0; f < nf; f++)
      z[f] = ((features[row * nf + f] as number) - (head.mean[f] as number)) / (head.scale[f] as number);
    let s = 0;
    for (let j = 0; j < hidden; j++) {
      let a = head.b1[j] as number;
      for (let f = 0; f < nf; f++) a += (z[f] as number) * ((head.w1[f] as number[])[j] as number);
      if (a > 0) s += a * (head.w2[j] as number);
    }
    scores.push(s);
  }
  return scores;
}

/** Checks a parsed weights object against this code's feature list and shapes. */
export function checkHeadWeights(head: NextCategoryHeadWeights): string[] {
  const problems: string[] = [];
  const nf = HEAD_FEATURES.length;
  if (head.features.join(',') !== HEAD_FEATURES.join(','))
    problems.push(`features should be ${HEAD_FEATURES.join(',')}`);
  if (head.mean.length !== nf || head.scale.length !== nf) problems.push(`mean and scale need ${nf} entries`);
  if (head.scale.some((s) => !(s > 0))) problems.push('scale entries must be > 0');
  if (head.w1.length !== nf || head.w1.some((r) => r.length !== head.b1.length))
    problems.push(`w1 must be ${nf} × ${head.b1.length}`);
  if (head.w2.length !== head.b1.length) problems.push('w2 and b1 must have the same length');
  if (!Number.isInteger(head.modelCandidates) || head.modelCandidates < 10)
    problems.push('modelCandidates must be an integer ≥ 10');
  return problems;
}
