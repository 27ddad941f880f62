/**
 * Small numeric helpers on float32 vectors. Pure.
 *
 * A state's vectors are plain arrays of doubles whose every value is a float32 (Math.fround), not
 * Float32Arrays: the state gets new vectors at every event, and a typed array over 64 bytes has
 * its store allocated off the heap, about 0.8 µs each on node 24. Rounding each stored value
 * keeps every result bit-identical to the Float32Array arithmetic it replaces (a Float32Array
 * rounds on store and reads back the same double).
 */

/** A vector as the state holds it: float32 values in a plain array. */
export type Vector = readonly number[];

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** A float32 copy of `v` (values rounded to float32). */
export function vectorOf(v: ArrayLike<number>): number[] {
  const out = new Array<number>(v.length);
  for (let i = 0; i < v.length; i++) out[i] = Math.fround(v[i] as number);
  return out;
}

/** Scales `v` to unit L2 norm in place, float32 (a zero vector stays zero); returns `v`. */
function normalizeInPlace(v: number[]): number[] {
  const n = Math.sqrt(dot(v, v));
  if (n === 0) return v.fill(0);
  for (let i = 0; i < v.length; i++) v[i] = Math.fround((v[i] as number) / n);
  return v;
}

/** Cosine distance 1 − cos(a, b) in [0, 2]; 0 when either vector is zero. */
export function cosineDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  if (na === 0 || nb === 0) return 0;
  return Math.min(2, Math.max(0, 1 - dot(a, b) / (na * nb)));
}

/** normalize(alpha·a + (1 − alpha)·b) as a new float32 vector of a.length values. */
export function blendNormalized(a: ArrayLike<number>, b: ArrayLike<number>, alpha: number): number[] {
  const out = new Array<number>(a.length);
  for (let i = 0; i < a.length; i++)
    out[i] = Math.fround(alpha * (a[i] as number) + (1 - alpha) * (b[i] as number));
  return normalizeInPlace(out);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Index of the centroid nearest to v by cosine similarity (ties → lower index). */
export function nearestCentroid(v: ArrayLike<number>, centroids: readonly ArrayLike<number>[]): number {
  let best = 0;
  let bestSim = -Infinity;
  centroids.forEach((c, i) => {
    const s = dot(v, c);
    if (s > bestSim) {
      bestSim = s;
      best = i;
    }
  });
  return best;
}
