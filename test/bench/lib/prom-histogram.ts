/**
 * One Prometheus histogram read from /metrics text: its cumulative buckets summed over the series
 * that match some label values, and the difference of two scrapes. The lookup bench uses it to
 * split the client's latency into the server's handling time (idrift_http_request_duration_seconds)
 * and the wait before the handler runs.
 *
 * Quantiles are bucket upper bounds ("at most"), not interpolated: with buckets 5 ms apart at the
 * low end the bound is what can honestly be said.
 */

export interface HistogramSnapshot {
  /** Upper bounds in seconds, ascending, +Inf last. */
  readonly le: readonly number[];
  /** Cumulative counts per bound. */
  readonly cumulative: readonly number[];
  readonly count: number;
  readonly sumSeconds: number;
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)\{([^}]*)\}\s+(\S+)/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

function labelsOf(text: string): Map<string, string> {
  return new Map([...text.matchAll(LABEL)].map((m) => [m[1] as string, m[2] as string]));
}

/** The histogram `name` summed over the series whose labels include every pair of `match`. */
export function readHistogram(
  metricsText: string,
  name: string,
  match: Readonly<Record<string, string>> = {},
): HistogramSnapshot {
  const buckets = new Map<number, number>();
  let count = 0;
  let sumSeconds = 0;
  for (const line of metricsText.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const labels = labelsOf(m[2] as string);
    if (!Object.entries(match).every(([k, v]) => labels.get(k) === v)) continue;
    const value = Number(m[3]);
    if (m[1] === `${name}_bucket`) {
      const le = labels.get('le') === '+Inf' ? Infinity : Number(labels.get('le'));
      buckets.set(le, (buckets.get(le) ?? 0) + value);
    } else if (m[1] === `${name}_count`) count += value;
    else if (m[1] === `${name}_sum`) sumSeconds += value;
  }
  const le = [...buckets.keys()].sort((a, b) => a - b);
  return { le, cumulative: le.map((b) => buckets.get(b) as number), count, sumSeconds };
}

/** after − before (same buckets; a series absent before counts as zero). */
export function histogramDelta(before: HistogramSnapshot, after: HistogramSnapshot): HistogramSnapshot {
  const prior = new Map(before.le.map((b, i) => [b, before.cumulative[i] as number]));
  return {
    le: after.le,
    cumulative: after.le.map((b, i) => (after.cumulative[i] as number) - (prior.get(b) ?? 0)),
    count: after.count - before.count,
    sumSeconds: after.sumSeconds - before.sumSeconds,
  };
}

/** The smallest bucket bound (seconds) with at least a fraction q of the observations at or below it. */
export function quantileBound(h: HistogramSnapshot, q: number): number {
  const need = q * h.count;
  for (let i = 0; i < h.le.length; i++) if ((h.cumulative[i] as number) >= need) return h.le[i] as number;
  return Infinity;
}

/** Fraction of the observations at or below `boundSeconds`, which must be one of the bucket bounds. */
export function fractionAtMost(h: HistogramSnapshot, boundSeconds: number): number {
  const i = h.le.indexOf(boundSeconds);
  if (i < 0) throw new Error(`${boundSeconds} s is not a bucket bound`);
  return h.count === 0 ? 0 : (h.cumulative[i] as number) / h.count;
}
