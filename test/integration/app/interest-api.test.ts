/**
 * The interest lookup API on two real processor instances sharing a group on the real broker:
 * the owner answers from its live state, the other instance redirects to the owner it learnt
 * from the group's metadata; unknown users are 404 and malformed ids 400. A user looked up once
 * is then answered from the HTTP thread's cache, which follows the user's committed changes, and
 * a redirect is repeated there for the partition's other users.
 */
import type { Kafka } from 'kafkajs';
import type { App } from '../../../src/app/create-app';
import { waitCaughtUp } from '../../../src/kafka/caught-up';
import { replayRows } from '../../../src/kafka/replay-producer';
import { AvroSerde } from '../../../src/kafka/serde';
import { readUserState } from '../../../src/kafka/state-lookup';
import { simulate } from '../../../src/sim/simulator';
import { createTopicsFor, harnessConfig, startApp } from '../../support/processor-harness';
import { describeWithStack, sleep, testKafka, testRegistry } from '../../support/stack';

jest.setTimeout(240_000);

describeWithStack('interest lookup API across two instances', (env) => {
  let kafka: Kafka;
  const apps: App[] = [];
  afterAll(async () => {
    for (const a of apps) await a.stop('test done');
  });

  it('answers from the owner and redirects from the other instance', async () => {
    kafka = testKafka(env);
    const config = harnessConfig(env, 'lookup');
    await createTopicsFor(kafka, config);
    const serde = new AvroSerde(testRegistry(env));
    const rows = simulate({ seed: 9, users: 40, days: 1, activityScale: 2 }).rows;
    await replayRows(kafka, serde, rows, { topic: config.topics.input, idPrefix: 'l' });
    apps.push(await startApp(config), await startApp(config));
    const urls = apps.map((a) => `http://127.0.0.1:${String(a.httpPort())}`);
    // Both joined (the group has two members) and caught up.
    for (let i = 0; ; i++) {
      const ready = await Promise.all(urls.map((u) => fetch(`${u}/readyz`).then((r) => r.status === 200)));
      if (ready.every(Boolean)) break;
      if (i > 300) throw new Error('instances not ready');
      await sleep(200);
    }
    await waitCaughtUp(kafka, config.appId, config.topics.input, 120_000);

    const users = [...new Set(rows.map((r) => r.userId))];
    const outcome = { local: 0, redirected: 0 };
    const answered = new Map<string, number>();
    for (const u of users) {
      const first = await fetch(`${urls[0]}/v1/users/${encodeURIComponent(u)}/interests`, {
        redirect: 'manual',
      });
      let res = first;
      if (first.status === 307) {
        outcome.redirected++;
        const location = first.headers.get('location') ?? '';
        expect(location).toBe(`${urls[1]}/v1/users/${encodeURIComponent(u)}/interests`);
        res = await fetch(location, { redirect: 'manual' });
      } else outcome.local++;
      expect(res.status).toBe(200);
      const view = (await res.json()) as {
        userId: string;
        eventCount: number;
        shortTerm: { categoryId: string }[];
      };
      expect(view.userId).toBe(u);
      answered.set(u, view.eventCount);
    }
    // Three partitions over two instances: both kinds of answer happen.
    expect(outcome.local).toBeGreaterThan(0);
    expect(outcome.redirected).toBeGreaterThan(0);

    // The first instance timed every lookup it answered, by route and status, and no label holds a
    // user. The HTTP thread reports its timings every 250 ms: wait for the last ones.
    const counted = (text: string, code: number): number =>
      Number(
        new RegExp(
          `^idrift_http_request_duration_seconds_count\\{route="interests",code="${code}"\\} (\\d+)$`,
          'm',
        ).exec(text)?.[1] ?? 0,
      );
    let metricsText = '';
    for (let i = 0; i < 50; i++) {
      metricsText = await (await fetch(`${urls[0]}/metrics`)).text();
      if (counted(metricsText, 200) + counted(metricsText, 307) >= users.length) break;
      await sleep(100);
    }
    expect([counted(metricsText, 200), counted(metricsText, 307)]).toEqual([
      outcome.local,
      outcome.redirected,
    ]);
    for (const u of users) expect(metricsText).not.toContain(`"${u}"`);

    // One more event for every user, an hour after the last: the owners answer from their caches
    // (each user was looked up once), and the answers follow the new committed states. The first
    // instance repeats the redirects of a partition from its HTTP thread, without its processing
    // thread, for the 2 s it trusts the group's metadata.
    const lastTime = Math.max(...rows.map((r) => r.eventTimeMs));
    const more = users.map((u, i) => ({
      ...(rows.find((r) => r.userId === u) as (typeof rows)[number]),
      eventTimeMs: lastTime + 3_600_000 + i,
    }));
    await replayRows(kafka, serde, more, { topic: config.topics.input, idPrefix: 'l2' });
    await waitCaughtUp(kafka, config.appId, config.topics.input, 120_000);
    const hits = async (url: string): Promise<number> => {
      const text = await (await fetch(`${url}/metrics`)).text();
      return Number(/^idrift_lookup_cache_requests_total\{outcome="hit"\} (\d+)$/m.exec(text)?.[1] ?? 0);
    };
    // The HTTP threads report every 250 ms: read until two reads a second apart agree.
    const settledHits = async (): Promise<number> => {
      let hit = -1;
      for (let i = 0, last = -2; i < 10 && hit !== last; i++) {
        last = hit;
        await sleep(1_000);
        hit = (await hits(urls[0] as string)) + (await hits(urls[1] as string));
      }
      return hit;
    };
    const hitsBefore = await settledHits();
    let redirected = 0;
    for (const u of users) {
      const path = `/v1/users/${encodeURIComponent(u)}/interests`;
      let res = await fetch(`${urls[0]}${path}`, { redirect: 'manual' });
      if (res.status === 307) {
        redirected++;
        expect(res.headers.get('location')).toBe(`${urls[1]}${path}`);
        res = await fetch(`${urls[1]}${path}`, { redirect: 'manual' });
      }
      expect(res.status).toBe(200);
      const view = (await res.json()) as { eventCount: number };
      expect([u, view.eventCount]).toEqual([u, (answered.get(u) ?? 0) + 1]);
      answered.set(u, view.eventCount);
    }
    expect(redirected).toBe(outcome.redirected);
    const hit = (await settledHits()) - hitsBefore;
    // Every owner's answer, plus at least one repeated redirect (3 partitions: the redirected users
    // share at most 2, and each partition's first redirect in 2 s asks the processing thread).
    expect(hit).toBeGreaterThan(users.length);
    expect(hit).toBeLessThanOrEqual(users.length + redirected);

    // An unknown user: 404 from whichever instance owns its partition (following a redirect).
    const unknown = await fetch(`${urls[0]}/v1/users/nobody-${Date.now()}/interests`);
    expect(unknown.status).toBe(404);
    for (const bad of ['%00', 'x'.repeat(300)]) {
      expect((await fetch(`${urls[1]}/v1/users/${bad}/interests`)).status).toBe(400);
    }
    // The live answers equal the committed states, which a stop flushes to the changelog.
    for (const a of apps.splice(0)) await a.stop('test done');
    for (const [u, eventCount] of answered) {
      expect([u, (await readUserState(kafka, serde, config, u))?.eventCount]).toEqual([u, eventCount]);
    }
  });
});
