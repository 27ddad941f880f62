/**
 * Upgrade safety: changelog values that state versions 1 and 2 wrote (Avro, committed fixtures
 * made with that code) restore into today's version-3 state, and processing continues exactly as
 * if the processor had never stopped.
 */
import * as avro from 'avsc';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newUserState } from '../../../src/core/user-state';
import type { UserState } from '../../../src/core/user-state';
import type { UserState as AvroUserState } from '../../../src/kafka/avro-types.gen';
import { UserStateSchema } from '../../../src/kafka/avro-types.gen';
import { AVRO_STATE_VERSIONS, fromAvro } from '../../../src/kafka/avro-state-reader';
import { STATE_VERSION, decodeState, encodeState } from '../../../src/state/state-codec';
import { TestDriver, ev, T0 } from '../../support/test-driver';
import { upgradeWorkload } from '../../support/upgrade-workload';

const FIXTURES = join(__dirname, '..', '..', 'fixtures');
const reader = avro.Type.forSchema(UserStateSchema as unknown as avro.Schema);
const writerOf = (v: number): avro.Type =>
  avro.Type.forSchema(
    JSON.parse(readFileSync(join(FIXTURES, 'schemas', `user-state.v${v}.avsc`), 'utf8')) as avro.Schema,
  );

/** A fixture value → today's state, through the version-3 bytes restore keeps. */
function restore(
  userId: string,
  base64: string,
  writer: avro.Type,
): { record: AvroUserState; state: UserState } {
  const record = reader.fromBuffer(
    Buffer.from(base64, 'base64'),
    reader.createResolver(writer),
  ) as AvroUserState;
  return { record, state: decodeState(userId, encodeState(fromAvro(record))) };
}

describe('state upgrade from Avro versions', () => {
  it('restores a version-1 changelog value (committed fixture) into the current state', async () => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, 'user-state.v1.json'), 'utf8')) as {
      userId: string;
      avroBase64: string;
    };
    const { record, state: restored } = restore(fixture.userId, fixture.avroBase64, writerOf(1));
    expect(record.stateVersion).toBe(1);
    expect(record.churn.openAlertId).toBeNull();
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
  });

  it('continues a version-2 changelog (40 users, committed fixture) exactly as a processor that never stopped', async () => {
    const fixture = JSON.parse(readFileSync(join(FIXTURES, 'user-state.v2.json'), 'utf8')) as {
      users: { userId: string; avroBase64: string }[];
    };
    const { before, after } = upgradeWorkload();
    const never = new TestDriver();
    for (let i = 0; i < before.length; i += 100) await never.feed(before.slice(i, i + 100));
    const outputsBefore = never.outputs.length;
    const plansBefore = never.plans.length;
    for (let i = 0; i < after.length; i += 100) await never.feed(after.slice(i, i + 100));
    const dups = (plans: readonly { counts: { duplicates: number } }[]): number =>
      plans.reduce((n, p) => n + p.counts.duplicates, 0);

    const upgraded = new TestDriver();
    for (const u of fixture.users) {
      const { record, state } = restore(u.userId, u.avroBase64, writerOf(2));
      expect(record.stateVersion).toBe(2);
      upgraded.states.set(u.userId, state);
    }
    upgraded.restart();
    expect(upgraded.states.size).toBe(40);
    // Chunked differently from the uninterrupted run: the outputs must not depend on it.
    for (let i = 0; i < after.length; i += 37) await upgraded.feed(after.slice(i, i + 37));

    // Re-sends within `after` are caught by either; those of events from before the upgrade only
    // by the dedup memory restored from version-2 event ids.
    const resentWithin = after.filter((e, i) => after.findIndex((x) => x.eventId === e.eventId) !== i).length;
    expect(dups(upgraded.plans)).toBe(dups(never.plans.slice(plansBefore)));
    expect(dups(upgraded.plans)).toBeGreaterThan(resentWithin);
    expect(upgraded.outputs.length).toBeGreaterThan(0);
    expect(upgraded.outputs).toEqual(never.outputs.slice(outputsBefore));
    expect(new Map([...upgraded.states].sort())).toEqual(new Map([...never.states].sort()));
  });

  it('refuses an Avro state version it does not know', () => {
    expect(AVRO_STATE_VERSIONS).toEqual([1, 2]);
    expect(STATE_VERSION).toBe(3);
    const v1 = writerOf(1);
    const fixture = JSON.parse(readFileSync(join(FIXTURES, 'user-state.v1.json'), 'utf8')) as {
      avroBase64: string;
    };
    const record = reader.fromBuffer(
      Buffer.from(fixture.avroBase64, 'base64'),
      reader.createResolver(v1),
    ) as AvroUserState;
    expect(() => fromAvro({ ...record, stateVersion: 99 })).toThrow(/state version 99 is not supported/);
    expect(newUserState('u', 'm').recentEventKeys).toEqual([]);
  });
});
