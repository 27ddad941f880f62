import type { InterestSource } from '../../../src/app/interest-api';
import { handleInterests, matchInterestsPath, validUserId } from '../../../src/app/interest-api';
import { hazardRisk } from '../../../src/core/churn-hazard';
import { DEFAULT_PARAMS } from '../../../src/core/params';
import { loadChurnHazard } from '../../../src/model/learned-weights';
import type { ModelContext, UserState } from '../../../src/core/user-state';
import { applyEvent } from '../../../src/core/user-state';
import type { UserLookup } from '../../../src/kafka/stream-processor';
import { ev, T0 } from '../../support/test-driver';

const MODEL: ModelContext = {
  modelVersion: 'm1',
  segmentCentroids: [],
  segmentLabels: [],
  inactivityHorizonMs: 86_400_000,
};
const OPTS = { model: MODEL, churn: null, topN: 3, maxIdLength: 64, selfUrl: 'http://10.0.0.1:9464' };

function source(where: UserLookup, owner: string | null = null): InterestSource {
  return { lookup: () => where, ownerOf: () => Promise.resolve(owner) };
}

function state(): UserState {
  const enc = { h: new Float32Array(2), embedding: new Float32Array([1, 0]), inactivityLogit: -2 };
  let s: UserState | null = null;
  for (let i = 0; i < 3; i++)
    s = applyEvent(
      s,
      ev('u1', i < 2 ? 'c1' : 'c2', T0 + i * 1000, 'view', `e${i}`),
      enc,
      DEFAULT_PARAMS,
      MODEL,
    ).state;
  return s as UserState;
}

describe('interest lookup API', () => {
  it('matches only /v1/users/{id}/interests and validates the id', () => {
    expect(matchInterestsPath('/v1/users/abc/interests')).toBe('abc');
    expect(matchInterestsPath('/v1/users//interests')).toBe(''); // answered 400 below, as the README says
    expect(validUserId('', 64)).toBeNull();
    expect(matchInterestsPath('/v1/users/a/b/interests')).toBeUndefined();
    expect(validUserId('user%2042', 64)).toBe('user 42');
    expect(validUserId('%00', 64)).toBeNull();
    expect(validUserId('%E0%A4%A', 64)).toBeNull();
    expect(validUserId('x'.repeat(65), 64)).toBeNull();
  });

  it('reports the churn hazard’s probability at the last event when the service runs one', async () => {
    const hazard = loadChurnHazard('onnx/artifacts/churn-hazard.json');
    const s = state();
    const read = async (churn: { hazard: typeof hazard } | null): Promise<number> =>
      (
        JSON.parse(
          (await handleInterests('u1', source({ kind: 'local', partition: 0, state: s }), { ...OPTS, churn }))
            .body,
        ) as { churn: { inactivityProbability: number } }
      ).churn.inactivityProbability;
    expect(await read({ hazard })).toBeCloseTo(hazardRisk(hazard, s, s.lastEventTimeMs), 12);
    expect(await read(null)).toBeCloseTo(s.churn.inactivityProbability, 12);
    expect(await read({ hazard })).not.toBeCloseTo(await read(null), 3);
  });

  it('answers 200 with the view from local committed state, 404 for an unknown user', async () => {
    const ok = await handleInterests('u1', source({ kind: 'local', partition: 0, state: state() }), OPTS);
    expect(ok.status).toBe(200);
    const body = JSON.parse(ok.body) as {
      userId: string;
      shortTerm: { categoryId: string }[];
      eventCount: number;
      churn: { level: string };
    };
    expect(body.userId).toBe('u1');
    expect(body.eventCount).toBe(3);
    expect(body.shortTerm[0]?.categoryId).toBeDefined();
    expect(body.churn.level).toBe('NONE');
    expect(
      (await handleInterests('u9', source({ kind: 'local', partition: 0, state: undefined }), OPTS)).status,
    ).toBe(404);
  });

  it('redirects to the owner, and answers 503 with Retry-After while restoring or rebalancing', async () => {
    const moved = await handleInterests(
      'a b',
      source({ kind: 'remote', partition: 2, partitions: 4 }, 'http://10.0.0.2:9464'),
      OPTS,
    );
    expect(moved.status).toBe(307);
    expect(moved.headers.location).toBe('http://10.0.0.2:9464/v1/users/a%20b/interests');
    const restoring = await handleInterests('u1', source({ kind: 'restoring', partition: 1 }), OPTS);
    expect([restoring.status, restoring.headers['retry-after']]).toEqual([503, '2']);
    const unknown = await handleInterests(
      'u1',
      source({ kind: 'remote', partition: 2, partitions: 4 }, null),
      OPTS,
    );
    expect([unknown.status, unknown.headers['retry-after']]).toEqual([503, '1']);
    const self = await handleInterests(
      'u1',
      source({ kind: 'remote', partition: 2, partitions: 4 }, OPTS.selfUrl),
      OPTS,
    );
    expect(self.status).toBe(503);
    expect((await handleInterests('%00', source({ kind: 'unavailable' }), OPTS)).status).toBe(400);
    expect((await handleInterests('u1', source({ kind: 'unavailable' }), OPTS)).status).toBe(503);
    expect((await handleInterests('', source({ kind: 'unavailable' }), OPTS)).status).toBe(400);
  });

  it('answers 503 with Retry-After, not 500, when the owner lookup fails or takes over a second', async () => {
    const remote: UserLookup = { kind: 'remote', partition: 2, partitions: 4 };
    const failing: InterestSource = {
      lookup: () => remote,
      ownerOf: () => Promise.reject(new Error('DescribeGroups: coordinator not available')),
    };
    const hanging: InterestSource = {
      lookup: () => remote,
      ownerOf: () => new Promise<string | null>(() => undefined),
    };
    for (const src of [failing, hanging]) {
      const r = await handleInterests('u1', src, OPTS);
      expect([r.status, r.headers['retry-after']]).toEqual([503, '1']);
    }
  });

  it('never puts the user id anywhere but the body of a 200 and the redirect location', async () => {
    const r = await handleInterests('secret-user', source({ kind: 'restoring', partition: 1 }), OPTS);
    expect(r.body).not.toContain('secret-user');
  });
});
