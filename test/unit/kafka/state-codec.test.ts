import * as avro from 'avsc';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newUserState } from '../../../src/core/user-state';
import type { UserState as AvroUserState } from '../../../src/kafka/avro-types.gen';
import { UserStateSchema } from '../../../src/kafka/avro-types.gen';
import { STATE_VERSION, fromAvro, toAvro } from '../../../src/kafka/state-codec';
import { TestDriver, ev, T0 } from '../../support/test-driver';

const FIXTURES = join(__dirname, '..', '..', 'fixtures');

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

describe('state upgrade', () => {
  it('restores a version-1 changelog value (committed fixture) into the current state', async () => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, 'user-state.v1.json'), 'utf8')) as {
      userId: string;
      avroBase64: string;
    };
    const writer = avro.Type.forSchema(
      JSON.parse(readFileSync(join(FIXTURES, 'schemas', 'user-state.v1.avsc'), 'utf8')) as avro.Schema,
    );
    const reader = avro.Type.forSchema(UserStateSchema as unknown as avro.Schema);
    const bytes = Buffer.from(fixture.avroBase64, 'base64');
    const record = reader.fromBuffer(bytes, reader.createResolver(writer)) as AvroUserState;
    expect(record.stateVersion).toBe(1);
    expect(record.churn.openAlertId).toBeNull();
    const restored = fromAvro(record);
    // The same events through today's code give the same state.
    const d = new TestDriver();
    await d.feed([
      ev('u-v1', 'c1', T0, 'view', 'e0'),
      ev('u-v1', 'c2', T0 + 1000, 'purchase', 'e1'),
      ev('u-v1', 'c1', T0 + 2000, 'view', 'e2'),
    ]);
    const today = d.states.get('u-v1');
    // Version 1 had no driftScore (restored as 0 until the next event); everything else is equal.
    expect(restored.driftScore).toBe(0);
    expect({ ...restored, driftScore: today?.driftScore }).toEqual(today);
    expect(toAvro(restored).stateVersion).toBe(STATE_VERSION);
    expect(STATE_VERSION).toBe(2);
  });

  it('refuses a state version it does not know', () => {
    const d = toAvro(newUserState('u', 'm'));
    expect(() => fromAvro({ ...d, stateVersion: 99 })).toThrow(/state version 99 is not supported/);
  });
});
