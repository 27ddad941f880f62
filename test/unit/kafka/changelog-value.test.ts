import { changelogValueToState, restoreValue } from '../../../src/kafka/changelog-value';
import type { AvroSerde } from '../../../src/kafka/serde';
import { RestoredPartition, encodeEntry } from '../../../src/state/changelog-entry';
import { encodeState } from '../../../src/state/state-codec';
import { StateStore } from '../../../src/state/state-store';
import { upgradeWorkloadStates } from '../../support/upgrade-workload';

// Versions 3 and 4 never reach the registry: a serde that throws proves it.
const noRegistry = {
  decode: () => {
    throw new Error('the registry must not be asked');
  },
} as unknown as AvroSerde;

describe('changelog values as the lookup, inspect and restore read them', () => {
  it('gives the version-3 state inside a version-4 value, and a version-3 value as it is', async () => {
    const [[userId, s]] = [...(await upgradeWorkloadStates())] as [
      [string, Parameters<typeof encodeState>[0]],
    ];
    const v3 = Buffer.from(encodeState(s));
    const v4 = Buffer.from(encodeEntry(v3, 77n));
    expect(Buffer.from(await changelogValueToState(v4, noRegistry)).equals(v3)).toBe(true);
    expect(Buffer.from(await changelogValueToState(v3, noRegistry)).equals(v3)).toBe(true);
    const part = new RestoredPartition(new StateStore());
    expect(restoreValue(part, userId, v4, noRegistry)).toBeUndefined(); // no promise per user
    expect(part.store.get(userId)).toEqual(s);
    await expect(changelogValueToState(Buffer.from([7, 1, 2]), noRegistry)).rejects.toThrow(/unknown format/);
  });
});
