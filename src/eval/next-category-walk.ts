/**
 * Walks every next-category position of a dataset: for each user (events in time order) and each
 * event t that has a successor, the encoder's logits and the user's category history after event
 * t, with event t+1 as the target. The encoder runs incrementally, one event per call for all
 * users at once; the history is advanced by the core's own advanceCategoryHistory, so what the
 * evaluation and the head's training see is what the live state holds.
 */
import type { CoreParams } from '../core/params';
import type { CategoryHistory } from '../core/user-state';
import { advanceCategoryHistory } from '../core/user-state';
import { EMPTY_HISTOGRAM } from '../core/decayed-histogram';
import { EMPTY_WINDOW } from '../core/event-window';
import type { DatasetRow } from '../io/datasets';
import { rowsByUser } from '../io/datasets';
import type { Encoder, EncoderRow } from '../model/encoder';
import type { ModelManifest } from '../model/model-manifest';
import { gapFeature } from '../model/model-manifest';

export interface NextCategoryPosition {
  /** Index of the user in first-appearance order of the rows. */
  readonly user: number;
  readonly current: DatasetRow;
  readonly target: DatasetRow;
  /** After `current`. */
  readonly history: CategoryHistory;
  /** next_category_logits after `current` (valid only during the visit call). */
  readonly logits: Float32Array;
}

/** Returns the number of users. Rows of each user must already be in event-time order. */
export async function walkNextCategoryPositions(
  rows: readonly DatasetRow[],
  encoder: Encoder,
  manifest: ModelManifest,
  params: CoreParams,
  visit: (p: NextCategoryPosition) => void,
): Promise<number> {
  const users = [...rowsByUser(rows).values()];
  const h: (Float32Array | null)[] = users.map(() => null);
  const history: CategoryHistory[] = users.map(() => ({
    window: EMPTY_WINDOW,
    shortHorizon: EMPTY_HISTOGRAM,
    eventCount: 0,
  }));
  const maxLen = Math.max(0, ...users.map((u) => u.length));
  const indexOf = (c: string): number => manifest.categoryIndex.get(c) ?? manifest.oovIndex;
  for (let t = 0; t < maxLen; t++) {
    const active = users.flatMap((u, i) => (u.length > t ? [i] : []));
    const batch: EncoderRow[] = active.map((i) => {
      const u = users[i] as DatasetRow[];
      const e = u[t] as DatasetRow;
      const prev = t > 0 ? (u[t - 1] as DatasetRow).eventTimeMs : null;
      return {
        categoryIndices: [indexOf(e.categoryId)],
        eventTypeIndices: [manifest.eventTypeIndex[e.kind] as number],
        logGaps: [gapFeature(manifest, prev === null ? null : e.eventTimeMs - prev)],
        h0: h[i] ?? null,
      };
    });
    const out = await encoder.encode(batch, { withLogits: true });
    active.forEach((i, j) => {
      const o = out[j];
      const u = users[i] as DatasetRow[];
      if (!o) return;
      h[i] = o.h;
      const current = u[t] as DatasetRow;
      const { window, shortHorizon, eventCount } = advanceCategoryHistory(
        history[i] as CategoryHistory,
        current,
        params,
      );
      const next: CategoryHistory = { window, shortHorizon, eventCount };
      history[i] = next;
      const target = u[t + 1];
      if (target) visit({ user: i, current, target, history: next, logits: o.nextCategoryLogits });
    });
  }
  return users.length;
}
