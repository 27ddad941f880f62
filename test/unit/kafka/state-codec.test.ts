import * as avro from 'avsc';
import type { UserState as AvroUserState } from '../../../src/kafka/avro-types.gen';
import { UserStateSchema } from '../../../src/kafka/avro-types.gen';
import { fromAvro, toAvro } from '../../../src/kafka/state-codec';
import { TestDriver, ev, T0 } from '../../support/test-driver';

describe('user state codec', () => {
  it('round-trips a real state through Avro bytes exactly', async () => {
    const d = new TestDriver();
    await d.feed([ev('u', 'c1', T0), ev('u', 'c2', T0 + 1000, 'purchase'), ev('u', 'c1', T0 + 2000)]);
    const s = d.states.get('u');
    if (!s) throw new Error('no state');
    const type = avro.Type.forSchema(UserStateSchema as unknown as avro.Schema);
    const bytes = type.toBuffer(toAvro(s));
    const back = fromAvro(type.fromBuffer(bytes) as AvroUserState);
    expect(back).toEqual(s);
    expect(type.toBuffer(toAvro(back)).equals(bytes)).toBe(true);
    expect(bytes.length).toBeLessThan(2048);
  });
});

describe('user state size', () => {
  it('stays bounded however long the history (window, dedup ids, histograms are capped)', async () => {
    const d = new TestDriver();
    const events = Array.from({ length: 3000 }, (_, i) =>
      ev('heavy', `c${i % 80}`, T0 + i * 60_000, 'view', `event-id-${i}`),
    );
    await d.feedInBatches(events, 500);
    const s = d.states.get('heavy');
    if (!s) throw new Error('no state');
    expect(s.eventCount).toBe(3000);
    expect(s.window).toHaveLength(d.params.windowEvents);
    expect(s.recentEventIds).toHaveLength(d.params.dedupIds);
    expect(s.shortHorizon.weights.size).toBeLessThanOrEqual(d.params.maxCategories);
    expect(s.longHorizon.weights.size).toBeLessThanOrEqual(d.params.maxCategories);
    const type = avro.Type.forSchema(UserStateSchema as unknown as avro.Schema);
    expect(type.toBuffer(toAvro(s)).length).toBeLessThan(3072);
  });
});
