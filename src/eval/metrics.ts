/**
 * Evaluation statistics. Pure; no dependencies.
 */

/**
 * ROC AUC: the probability that a random positive scores above a random negative (ties count
 * one half). NaN when either class is empty.
 */
export function rocAuc(scores: readonly number[], labels: readonly boolean[]): number {
  const idx = rankOrder(scores);
  // Average ranks over ties (1-based), then the Mann–Whitney U statistic.
  const ranks = new Float64Array(scores.length);
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j + 1 < idx.length && scores[idx[j + 1] as number] === scores[idx[i] as number]) j++;
    const avg = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) ranks[idx[k] as number] = avg;
    i = j + 1;
  }
  let pos = 0;
  let rankSum = 0;
  labels.forEach((l, k) => {
    if (l) {
      pos++;
      rankSum += ranks[k] as number;
    }
  });
  const neg = labels.length - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/** Ascending order of scores (stable). */
function rankOrder(scores: readonly number[]): number[] {
  return scores.map((_, k) => k).sort((a, b) => (scores[a] as number) - (scores[b] as number) || a - b);
}

/**
 * PR AUC as average precision (the step-wise area: mean of the precision at each positive, in
 * descending score order; tied scores are taken as one threshold). NaN without positives.
 */
export function averagePrecision(scores: readonly number[], labels: readonly boolean[]): number {
  const idx = rankOrder(scores).reverse();
  const total = labels.filter(Boolean).length;
  if (total === 0) return NaN;
  let tp = 0;
  let seen = 0;
  let ap = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    let tpGroup = 0;
    while (j < idx.length && scores[idx[j] as number] === scores[idx[i] as number]) {
      if (labels[idx[j] as number]) tpGroup++;
      j++;
    }
    tp += tpGroup;
    seen += j - i;
    ap += (tpGroup / total) * (tp / seen);
    i = j;
  }
  return ap;
}

/** ROC curve points (false-positive rate, true-positive rate), at most `maxPoints` of them. */
export function rocCurve(
  scores: readonly number[],
  labels: readonly boolean[],
  maxPoints = 200,
): { fpr: number[]; tpr: number[] } {
  const idx = rankOrder(scores).reverse();
  const pos = labels.filter(Boolean).length;
  const neg = labels.length - pos;
  const fpr = [0];
  const tpr = [0];
  let tp = 0;
  let fp = 0;
  let i = 0;
  while (i < idx.length) {
    let j = i;
    while (j < idx.length && scores[idx[j] as number] === scores[idx[i] as number]) {
      if (labels[idx[j] as number]) tp++;
      else fp++;
      j++;
    }
    i = j;
    fpr.push(neg ? fp / neg : 0);
    tpr.push(pos ? tp / pos : 0);
  }
  return thin(fpr, tpr, maxPoints);
}

function thin(x: number[], y: number[], maxPoints: number): { fpr: number[]; tpr: number[] } {
  if (x.length <= maxPoints) return { fpr: x, tpr: y };
  const fpr: number[] = [];
  const tpr: number[] = [];
  const step = (x.length - 1) / (maxPoints - 1);
  for (let k = 0; k < maxPoints; k++) {
    const i = Math.round(k * step);
    fpr.push(x[i] as number);
    tpr.push(y[i] as number);
  }
  return { fpr, tpr };
}

/** Linear-interpolated quantile (q in [0, 1]) of the values; NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const x = q * (s.length - 1);
  const i = Math.floor(x);
  const lo = s[i] as number;
  const hi = s[Math.min(s.length - 1, i + 1)] as number;
  return lo + (hi - lo) * (x - i);
}

/** Jensen–Shannon divergence (log base 2, so in [0, 1]) of two count maps. */
export function jsDivergence(a: ReadonlyMap<string, number>, b: ReadonlyMap<string, number>): number {
  const sa = sum(a.values());
  const sb = sum(b.values());
  if (sa === 0 || sb === 0) return 0;
  let d = 0;
  const keys = new Set([...a.keys(), ...b.keys()]);
  for (const k of keys) {
    const p = (a.get(k) ?? 0) / sa;
    const q = (b.get(k) ?? 0) / sb;
    const m = (p + q) / 2;
    if (p > 0) d += 0.5 * p * Math.log2(p / m);
    if (q > 0) d += 0.5 * q * Math.log2(q / m);
  }
  return Math.max(0, Math.min(1, d));
}

function sum(values: Iterable<number>): number {
  let s = 0;
  for (const v of values) s += v;
  return s;
}

/** Precision, recall and F1 from counts; 0 (not NaN) where a denominator is 0. */
export function prf(
  truePositives: number,
  predicted: number,
  actual: number,
): {
  precision: number;
  recall: number;
  f1: number;
} {
  const precision = predicted ? truePositives / predicted : 0;
  const recall = actual ? truePositives / actual : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1 };
}
