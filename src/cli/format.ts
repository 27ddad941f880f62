/** Human-readable one-liners for migrations and churn alerts (user ids pseudonymised). */
import type { ChurnRisk, InterestMigration } from '../kafka/avro-types.gen';

const pct = (x: number): string => `${(x * 100).toFixed(0)}%`;
const when = (ms: number): string => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

export function formatMigration(m: InterestMigration, pseudonym: (u: string) => string): string {
  const cats = (list: InterestMigration['fromCategories']): string =>
    list.map((c) => `${c.categoryId} (${pct(c.share)})`).join(', ');
  return (
    `[${when(m.detectedAtEventTimeMs)}] MIGRATION ${pseudonym(m.userId)}  ${cats(m.fromCategories)}  →  ${cats(m.toCategories)}` +
    `  | segment ${m.fromSegment.segmentId} → ${m.toSegment.segmentId}, score ${m.score.toFixed(2)}, confidence ${m.confidence.toFixed(2)}, ${m.evidence.eventCount} events`
  );
}

export function formatChurn(c: ChurnRisk, pseudonym: (u: string) => string): string {
  const what = c.status === 'RESOLVED' ? `RESOLVED ${c.level}` : c.level;
  return (
    `[${when(c.scoredAtEventTimeMs)}] CHURN ${what.padEnd(6)} ${pseudonym(c.userId)}  risk ${c.riskScore.toFixed(2)}, idle ${(c.idleMs / 3_600_000).toFixed(1)} h` +
    `  (${c.trigger.toLowerCase()}; ${c.reasons.map((r) => r.code.toLowerCase()).join(', ')})`
  );
}
