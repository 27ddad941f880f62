import { blendNormalized, cosineDistance, vectorOf } from '../../../src/core/vector';

/** What the state's vectors were before they became plain arrays: Float32Array arithmetic. */
function blendNormalizedF32(a: Float32Array, b: Float32Array, alpha: number): Float32Array {
  const out = new Float32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = alpha * (a[i] as number) + (1 - alpha) * (b[i] as number);
  let s = 0;
  for (const x of out) s += x * x;
  const n = Math.sqrt(s);
  if (n === 0) return out.fill(0);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) / n;
  return out;
}

/** Deterministic pseudo-random float32 vector. */
function randomVector(seed: number, n: number): Float32Array {
  let x = seed;
  return Float32Array.from({ length: n }, () => {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    return x / 2 ** 30 - 1;
  });
}

describe('vector', () => {
  it('holds float32 values: vectorOf rounds each value', () => {
    expect(vectorOf([0.1, 1, -2.5])).toEqual([Math.fround(0.1), 1, -2.5]);
  });

  it('blends bit for bit like Float32Array arithmetic', () => {
    for (let seed = 1; seed <= 50; seed++) {
      const a = randomVector(seed, 32);
      const b = randomVector(seed + 1000, 32);
      for (const alpha of [0.5, Math.pow(2, -1 / 40), Math.pow(2, -1 / 4)]) {
        expect(blendNormalized(vectorOf(a), b, alpha)).toEqual(Array.from(blendNormalizedF32(a, b, alpha)));
      }
    }
  });

  it('normalises the blend to unit length and leaves a zero blend zero', () => {
    const v = blendNormalized([3, 4], [3, 4], 0.5);
    expect(v).toEqual([Math.fround(0.6), Math.fround(0.8)]);
    expect(blendNormalized([0, 0], [0, 0], 0.5)).toEqual([0, 0]);
  });

  it('measures cosine distance in [0, 2], 0 for a zero vector', () => {
    expect(cosineDistance([1, 0], [1, 0])).toBe(0);
    expect(cosineDistance([1, 0], [-1, 0])).toBe(2);
    expect(cosineDistance([1, 0], [0, 1])).toBeCloseTo(1, 12);
    expect(cosineDistance([0, 0], [0, 1])).toBe(0);
  });
});
