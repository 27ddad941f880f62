/**
 * The soak's memory samples cut at each instance's restarts into process lives (a diagnostic
 * beside the soak's verdict, which it does not change). A rolling restart starts a fresh process,
 * whose RSS climbs during its restore and catch-up and then holds a level: a leak shows as growth
 * inside lives (the pooled within-life slope), a level that depends on the start shows as spread
 * between lives.
 */

export interface LifeSample {
  /** Seconds since the steady phase began. */
  readonly atS: number;
  /** The instance's value at that time (MB); NaN when it did not answer. */
  readonly value: number;
}

export interface ProcessLife {
  readonly instance: string;
  /** Start of the life (s): the restart, or 0 for the first. */
  readonly fromS: number;
  readonly samples: number;
  /** Median of the life's samples (MB). */
  readonly level: number;
  /** Last sample less the first (MB). */
  readonly change: number;
}

export interface LivesSummary {
  readonly lives: ProcessLife[];
  /** Least-squares slope inside lives, each life's own mean taken out (MB/min); NaN without data. */
  readonly withinSlopePerMin: number;
  /** Smallest and largest life level (MB). */
  readonly levelRange: readonly [number, number];
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

/**
 * `series` per instance; `restarts` per instance (s, ascending). Samples less than `settleS`
 * after a restart are left out (the process is still restoring and catching up).
 */
export function processLives(
  series: ReadonlyMap<string, readonly LifeSample[]>,
  restarts: ReadonlyMap<string, readonly number[]>,
  settleS: number,
): LivesSummary {
  const lives: ProcessLife[] = [];
  let sxy = 0;
  let sxx = 0;
  for (const [instance, samples] of series) {
    const starts = [0, ...(restarts.get(instance) ?? [])];
    starts.forEach((fromS, i) => {
      const toS = starts[i + 1] ?? Number.POSITIVE_INFINITY;
      const life = samples.filter(
        (x) =>
          Number.isFinite(x.value) && x.atS > fromS && x.atS < toS && (i === 0 || x.atS >= fromS + settleS),
      );
      if (life.length === 0) return;
      const ys = life.map((x) => x.value);
      lives.push({
        instance,
        fromS,
        samples: life.length,
        level: median(ys),
        change: (ys[ys.length - 1] as number) - (ys[0] as number),
      });
      const mx = life.reduce((a, x) => a + x.atS / 60, 0) / life.length;
      const my = ys.reduce((a, y) => a + y, 0) / ys.length;
      for (const x of life) {
        sxy += (x.atS / 60 - mx) * (x.value - my);
        sxx += (x.atS / 60 - mx) ** 2;
      }
    });
  }
  const levels = lives.map((l) => l.level);
  return {
    lives,
    withinSlopePerMin: sxx > 0 ? sxy / sxx : Number.NaN,
    levelRange: levels.length ? [Math.min(...levels), Math.max(...levels)] : [Number.NaN, Number.NaN],
  };
}
