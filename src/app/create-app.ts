/**
 * Composition root: builds each dependency once from the frozen Config, wires them, and owns the
 * lifecycle (STYLE.md §7, §8). start() and stop() are idempotent; stop() runs every cleanup step
 * even if an earlier one failed, within the grace + force budgets.
 */
import { hostname, networkInterfaces } from 'node:os';
import type { Config } from '../shared/config';
import { describeError } from '../shared/errors';
import type { Logger } from '../shared/logger';
import type { Metrics } from '../shared/metrics';
import { createMetrics } from '../shared/metrics';
import type { HttpServer, LookupRoutes } from './http-server';
import { consumerLoopLiveness, startHttpServer } from './http-server';
import { handleInterests, localAnswer } from './interest-api';
import { systemClock } from '../core/clock';
import { kafkaAccessPlan, verifyKafkaAccess } from '../kafka/access-check';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from '../kafka/clients';
import { AvroSerde } from '../kafka/serde';
import { StreamProcessor } from '../kafka/stream-processor';
import { subjectConfigClient } from '../kafka/registry-compatibility';
import { setUpTopics } from '../kafka/topics';
import { untilKafkaAnswers } from '../kafka/failure-policy';
import { instrumentEncoder } from '../model/instrumented-encoder';
import { createOnnxEncoder } from '../model/onnx-encoder';
import { createThreadedEncoder } from '../model/encoder-thread';
import { modelContext } from '../pipeline/partition-processor';
import { coreParams, paramsWarnings, validationLimits } from '../pipeline/params';

export type AppState = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'failed';

const LEGAL: Record<AppState, readonly AppState[]> = {
  created: ['starting', 'stopping'],
  starting: ['running', 'stopping', 'failed'],
  running: ['stopping', 'failed'],
  stopping: ['stopped', 'failed'],
  stopped: [],
  failed: ['stopping', 'stopped'],
};

export interface App {
  readonly metrics: Metrics;
  start(): Promise<void>;
  /** `failure`: the stop is for a fault, and the process exits 1 (done resolves 1). */
  stop(reason?: string, failure?: boolean): Promise<void>;
  state(): AppState;
  /** Resolves when the app stops by itself (fatal error); the value is the exit code. */
  readonly done: Promise<number>;
  httpPort(): number | null;
}

export function createApp(config: Config, logger: Logger): App {
  const log = logger.child('app');
  const metrics = createMetrics();
  let state: AppState = 'created';
  let processor: StreamProcessor | null = null;
  let lookup: LookupRoutes | null = null;
  let http: HttpServer | null = null;
  let dispose: (() => Promise<void>) | null = null;
  let stopping: Promise<void> | null = null;
  let resolveDone: (code: number) => void = () => undefined;
  const done = new Promise<number>((r) => (resolveDone = r));
  const transition = (to: AppState): void => {
    if (!LEGAL[state].includes(to)) throw new Error(`illegal lifecycle transition ${state} → ${to}`);
    log.info('lifecycle', { from: state, to });
    state = to;
  };
  /** Set by any failure; the process then exits 1, whenever in the stop it came. */
  let failedExit = false;
  const markFailed = (): void => {
    failedExit = true;
    if (state !== 'stopped') state = 'failed';
  };
  /** Why /readyz answers 503 (and idrift_ready is 0), or null when ready. */
  const notReadyBecause = (): string | null => {
    if (state !== 'running') return `state ${state}`;
    if (!processor?.ready) return 'partitions not yet assigned and restored';
    return null;
  };
  metrics.setReadinessProbe(() => notReadyBecause() === null);

  /** start()'s work; returns early when a stop came meanwhile (the stop's steps ran before these parts existed). */
  const startSteps = async (): Promise<void> => {
    const limits = validationLimits(config);
    http = await startHttpServer(
      {
        host: config.http.host,
        port: config.http.port,
        cacheUsers: config.http.lookupCacheUsers,
        maxIdLength: limits.maxIdLength,
      },
      metrics.registry,
      {
        liveness: () => {
          if (state === 'failed') return 'processor failed';
          if (state !== 'running') return null;
          return consumerLoopLiveness(processor?.lastLoopTurnMs ?? 0, config.kafka.sessionTimeoutMs);
        },
        readiness: notReadyBecause,
      },
      () => lookup,
      {
        observe: (route, status, seconds) =>
          metrics.httpRequestSeconds.observe({ route, code: status }, seconds),
        observeCache: (hits, misses, cachedUsers) => {
          metrics.lookupCache.inc({ outcome: 'hit' }, hits);
          metrics.lookupCache.inc({ outcome: 'miss' }, misses);
          metrics.lookupCacheUsers.set(cachedUsers);
        },
        onFailure: (e) => {
          // A bug: without its HTTP thread the service answers neither probes nor lookups.
          log.error('HTTP thread failed', { error: describeError(e) });
          markFailed();
          void app.stop('HTTP thread failed');
        },
        onFeedError: (e) => log.error('lookup answers of a commit failed', { error: describeError(e) }),
        onRequestError: (e) =>
          log.error('a request failed with a bug; answered 500', { error: describeError(e) }),
      },
    );
    const encoderOptions = {
      modelPath: config.model.path,
      manifestPath: config.model.metaPath,
      provider: config.model.executionProvider,
      onProvider: (active: 'cuda' | 'cpu', fallback: string | null) => {
        metrics.executionProvider.set({ provider: active, requested: config.model.executionProvider }, 1);
        if (fallback && config.model.executionProvider === 'auto') metrics.providerFallbacks.inc();
      },
    };
    const { encoder: rawEncoder, manifest } =
      config.model.thread === 'worker'
        ? await createThreadedEncoder({ ...encoderOptions, logLevel: config.logLevel }, logger)
        : await createOnnxEncoder(encoderOptions, logger);
    const encoder = instrumentEncoder(rawEncoder, metrics.encoderBatchRows, metrics.encoderLatencySeconds);
    let disposed: Promise<void> | null = null;
    dispose = () => (disposed ??= encoder.dispose()); // once: both a stop and an abandoned start may call it
    const kafka = createKafka(kafkaClientOptions(config), logger);
    // A cluster that does not answer at start (down, restarting, hung) is waited for with
    // backoff, like the registry; a refusal (ACL, password) still fails fast, named.
    await untilKafkaAnswers(
      async () => {
        if (config.kafka.createTopics) {
          const created = await setUpTopics(kafka, config);
          if (created.length > 0) log.info('topics created', { topics: created });
        }
        // Fail fast, before joining the group, with every missing ACL named (not a restart loop).
        await verifyKafkaAccess(kafkaClientOptions(config), kafkaAccessPlan(config), logger);
      },
      () => state === 'starting',
      (e, delayMs) => {
        metrics.retries.inc({ dependency: 'kafka' });
        log.warn('kafka unavailable at start; retrying', { delayMs, error: describeError(e) });
      },
    );
    if (stopping !== null) return abandon();
    const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
    const params = coreParams(config, manifest);
    for (const w of paramsWarnings(params)) log.warn(w.message, w.context);
    const httpUrl = config.http.advertisedUrl ?? advertisedUrl(config.http.host, http.port);
    processor = new StreamProcessor({
      httpUrl,
      config,
      kafka,
      serde,
      encoder,
      manifest,
      params,
      limits,
      metrics,
      logger,
      clock: systemClock,
      maxChunkRecords: config.kafka.maxBatchRecords,
      subjectConfig: subjectConfigClient(registryClientOptions(config)),
      committedStates: http.lookupFeed,
    });
    const source = processor;
    const apiOptions = {
      model: modelContext(manifest),
      churn: params.churn,
      topN: 5,
      maxIdLength: limits.maxIdLength,
      selfUrl: httpUrl,
    };
    lookup = {
      interests: (rawId) => handleInterests(rawId, source, apiOptions),
      answer: (st) => localAnswer(st, apiOptions),
    };
    processor.onFatal = () => {
      markFailed();
      void app.stop('fatal error');
    };
    if (stopping !== null) return abandon();
    await processor.start();
    if (stopping !== null) return abandon();
    transition('running');
  };
  /** Releases what a start built after a stop had already run its steps. */
  const abandon = async (): Promise<void> => {
    await processor?.stop();
    await dispose?.();
    await http?.close().catch(() => undefined); // closed already if it existed when the stop ran
  };

  const app: App = {
    metrics,
    state: () => state,
    done,
    httpPort: () => http?.port ?? null,
    async start() {
      if (state !== 'created') return;
      transition('starting');
      try {
        await startSteps();
      } catch (e) {
        // A stop during the start (SIGTERM while waiting for Kafka, say) ends the waits with
        // their errors: the stop is what happened, and it sets the exit code.
        if (stopping === null) throw e;
        log.info('start abandoned: stopping', { error: describeError(e) });
        await abandon();
      }
    },
    stop(reason = 'requested', failure = false) {
      // A stop for a failure (a bug outside the processor) ends the process non-zero, as a fatal error does.
      if (failure) markFailed();
      if (stopping) return stopping;
      stopping = (async () => {
        // A stop caused by a fatal error must end the process non-zero (done resolves once).
        const failed = state === 'failed';
        if (!failed) transition('stopping');
        log.info('stopping', { reason });
        const steps: [string, () => Promise<void>][] = [
          ['processor', async () => processor?.stop()],
          ['encoder', async () => dispose?.()],
          ['http', async () => http?.close()],
        ];
        const budget = config.shutdown.graceMs + config.shutdown.forceMs;
        const deadline = new Promise<void>((r) => setTimeout(r, budget).unref());
        await Promise.race([
          (async () => {
            for (const [name, step] of steps) {
              try {
                await step();
              } catch (e) {
                log.warn('shutdown step failed', { step: name, error: describeError(e) });
              }
            }
          })(),
          deadline,
        ]);
        state = 'stopped';
        log.info('stopped');
        // Read now, not when the stop began: a failure during the stop (an unhandled rejection, say) counts.
        resolveDone(failedExit ? 1 : 0);
      })();
      return stopping;
    },
  };
  return app;
}

/**
 * The URL other instances redirect lookups to: the bound address when it is a specific one,
 * otherwise this host's first non-loopback IPv4 (a pod's IP in Kubernetes).
 */
function advertisedUrl(host: string, port: number): string {
  if (host !== '0.0.0.0' && host !== '::' && host !== '')
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const ipv4 = Object.values(networkInterfaces())
    .flat()
    .find((a) => a !== undefined && a.family === 'IPv4' && !a.internal);
  return `http://${ipv4?.address ?? hostname()}:${port}`;
}
