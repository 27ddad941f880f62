/** Small numeric helpers on Float32Array vectors. Pure. */

export function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/** L2-normalised copy; a zero vector stays zero. */
export function normalized(v: Float32Array): Float32Array {
  return normalizeInPlace(Float32Array.from(v));
}

/** Scales `v` to unit L2 norm in place (a zero vector stays zero); returns `v`. */
function normalizeInPlace(v: Float32Array): Float32Array {
  const n = Math.sqrt(dot(v, v));
  if (n === 0) return v.fill(0);
  for (let i = 0; i < v.length; i++) v[i] = (v[i] as number) / n;
  return v;
}

/** Cosine distance 1 − cos(a, b) in [0, 2]; 0 when either vector is zero. */
export function cosineDistance(a: Float32Array, b: Float32Array): number {
  const na = Math.sqrt(dot(a, a));
  const nb = Math.sqrt(dot(b, b));
  if (na === 0 || nb === 0) return 0;
  return Math.min(2, Math.max(0, 1 - dot(a, b) / (na * nb)));
}

/** Writes normalize(alpha·a + (1 − alpha)·b) into `out` (a.length floats) and returns it. */
export function blendNormalizedInto(
  out: Float32Array,
  a: Float32Array,
  b: Float32Array,
  alpha: number,
): Float32Array {
  for (let i = 0; i < a.length; i++) out[i] = alpha * (a[i] as number) + (1 - alpha) * (b[i] as number);
  return normalizeInPlace(out);
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

/** Index of the centroid nearest to v by cosine similarity (ties → lower index). */
export function nearestCentroid(v: Float32Array, centroids: readonly Float32Array[]): number {
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
