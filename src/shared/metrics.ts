/**
 * The metric catalog (STYLE.md §11): every metric, its help text, labels and buckets, in one
 * place, registered on an injected Registry. Prometheus conventions: one prefix (`idrift_`, also
 * on the default process and Node.js metrics), base units in the names (`_seconds`, `_bytes`),
 * `_total` on counters. No label ever holds a user id or any other unbounded value: labels are
 * partitions, providers, reasons and levels.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

const SECONDS_BUCKETS = [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SIZE_BUCKETS = [1, 4, 16, 64, 128, 256, 512, 1024, 2048, 4096];

export function createMetrics(registry: Registry = new Registry(), withDefaults = true) {
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'idrift_' });
  const r = [registry];
  const readiness = { probe: (): boolean => false };
  return {
    registry,
    /** What idrift_ready reports at each scrape: the same test as /readyz (create-app.ts sets it). */
    setReadinessProbe(probe: () => boolean): void {
      readiness.probe = probe;
    },
    consumed: new Counter({
      name: 'idrift_records_consumed_total',
      help: 'Input records fetched.',
      labelNames: ['partition'] as const,
      registers: r,
    }),
    processed: new Counter({
      name: 'idrift_events_processed_total',
      help: 'Events applied to user state.',
      labelNames: ['partition'] as const,
      registers: r,
    }),
    deadLettered: new Counter({
      name: 'idrift_records_dead_lettered_total',
      help: 'Records sent to the dead-letter topic, by error code.',
      labelNames: ['code'] as const,
      registers: r,
    }),
    duplicates: new Counter({
      name: 'idrift_events_duplicate_total',
      help: 'Events dropped as repeats of a recent event id.',
      registers: r,
    }),
    late: new Counter({
      name: 'idrift_events_late_total',
      help: 'Events dropped for arriving later than the allowed lateness.',
      registers: r,
    }),
    erased: new Counter({
      name: 'idrift_users_erased_total',
      help: 'Users erased by a tombstone.',
      registers: r,
    }),
    evicted: new Counter({
      name: 'idrift_users_evicted_total',
      help: 'Users evicted after IDRIFT_STATE_TTL_MS of event time without an event (changelog tombstone).',
      registers: r,
    }),
    batchRecords: new Histogram({
      name: 'idrift_batch_records',
      help: 'Records per processed batch.',
      buckets: SIZE_BUCKETS,
      registers: r,
    }),
    encoderBatchRows: new Histogram({
      name: 'idrift_encoder_batch_rows',
      help: 'Rows (users) per encoder call.',
      buckets: SIZE_BUCKETS,
      registers: r,
    }),
    encoderLatencySeconds: new Histogram({
      name: 'idrift_encoder_latency_seconds',
      help: 'Wall time of one encoder call, seconds.',
      labelNames: ['provider'] as const,
      buckets: SECONDS_BUCKETS,
      registers: r,
    }),
    endToEndLatencySeconds: new Histogram({
      name: 'idrift_end_to_end_latency_seconds',
      help: 'Record timestamp to transaction commit, seconds (meaningful for live traffic, not replays).',
      buckets: SECONDS_BUCKETS,
      registers: r,
    }),
    batchDurationSeconds: new Histogram({
      name: 'idrift_batch_duration_seconds',
      help: 'Decode + process + commit of one chunk, seconds.',
      buckets: SECONDS_BUCKETS,
      registers: r,
    }),
    commitDurationSeconds: new Histogram({
      name: 'idrift_commit_duration_seconds',
      help: 'One Kafka transaction, from its first send to its commit, seconds.',
      buckets: SECONDS_BUCKETS,
      registers: r,
    }),
    lag: new Gauge({
      name: 'idrift_consumer_lag_records',
      help: 'High watermark minus next offset, per partition, at the last batch.',
      labelNames: ['partition'] as const,
      registers: r,
    }),
    usersInState: new Gauge({
      name: 'idrift_users_in_state',
      help: 'Users held in memory, per partition.',
      labelNames: ['partition'] as const,
      registers: r,
    }),
    stateCacheBytes: new Gauge({
      name: 'idrift_state_cache_bytes',
      help: 'Estimated bytes of the user states held decoded, all partitions (bounded by IDRIFT_STATE_CACHE_BYTES).',
      registers: r,
    }),
    stateCacheUsers: new Gauge({
      name: 'idrift_state_cache_users',
      help: 'Users whose state is held decoded, per partition.',
      labelNames: ['partition'] as const,
      registers: r,
    }),
    restoreDurationSeconds: new Histogram({
      name: 'idrift_restore_duration_seconds',
      help: 'Changelog restore time per assigned partition, seconds.',
      buckets: SECONDS_BUCKETS,
      registers: r,
    }),
    restoredUsers: new Counter({
      name: 'idrift_restored_users_total',
      help: 'User states restored from the changelog.',
      registers: r,
    }),
    replayedRecords: new Counter({
      name: 'idrift_replayed_records_total',
      help: 'Input records replayed at partition start, from the changelog checkpoint to the committed offset.',
      registers: r,
    }),
    stateFlushes: new Counter({
      name: 'idrift_state_flushes_total',
      help: 'Transactions that wrote user states to the changelog (the due dirty states, oldest first, and the checkpoint).',
      registers: r,
    }),
    changelogRecords: new Counter({
      name: 'idrift_changelog_records_total',
      help: 'User state records (tombstones included) written to the changelog.',
      registers: r,
    }),
    inputBytes: new Counter({
      name: 'idrift_input_bytes_total',
      help: 'Key and value bytes of the input records whose transaction committed (Kafka record and batch framing excluded): the measure idrift_changelog_bytes_total is compared with.',
      labelNames: ['partition'] as const,
      registers: r,
    }),
    changelogBytes: new Counter({
      name: 'idrift_changelog_bytes_total',
      help: 'Key and value bytes written to the changelog: user states, tombstones and checkpoints (Kafka record and batch framing excluded, before compression).',
      registers: r,
    }),
    transactions: new Counter({
      name: 'idrift_transactions_total',
      help: 'Kafka transactions by outcome.',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    fenced: new Counter({
      name: 'idrift_producer_fenced_total',
      help: 'Transactions refused because a newer owner of the partition fenced our producer.',
      registers: r,
    }),
    migrations: new Counter({
      name: 'idrift_migrations_emitted_total',
      help: 'InterestMigration records emitted.',
      registers: r,
    }),
    churnAlerts: new Counter({
      name: 'idrift_churn_alerts_total',
      help: 'ChurnRisk records emitted, by level, trigger and status (RAISED, RESOLVED).',
      labelNames: ['level', 'trigger', 'status'] as const,
      registers: r,
    }),
    profiles: new Counter({
      name: 'idrift_profiles_emitted_total',
      help: 'InterestProfile records emitted.',
      registers: r,
    }),
    timersFired: new Counter({
      name: 'idrift_timers_fired_total',
      help: 'Churn timers fired.',
      registers: r,
    }),
    watermarkSeconds: new Gauge({
      name: 'idrift_watermark_event_time_seconds',
      help: 'Partition watermark, event time, Unix seconds.',
      labelNames: ['partition'] as const,
      registers: r,
    }),
    executionProvider: new Gauge({
      name: 'idrift_execution_provider_info',
      help: '1 for the ONNX execution provider in use.',
      labelNames: ['provider', 'requested'] as const,
      registers: r,
    }),
    providerFallbacks: new Counter({
      name: 'idrift_execution_provider_fallback_total',
      help: 'CUDA → CPU fallbacks at start-up.',
      registers: r,
    }),
    retries: new Counter({
      name: 'idrift_dependency_retries_total',
      help: 'Retries of a transient dependency failure, by dependency.',
      labelNames: ['dependency'] as const,
      registers: r,
    }),
    backpressureSeconds: new Counter({
      name: 'idrift_backpressure_seconds_total',
      help: 'Time spent paused waiting for a dependency, seconds.',
      labelNames: ['dependency'] as const,
      registers: r,
    }),
    loopLastTurnSeconds: new Gauge({
      name: 'idrift_loop_last_turn_timestamp_seconds',
      help: 'Wall time the consumer loop last made progress, Unix seconds.',
      registers: r,
    }),
    rebalances: new Counter({
      name: 'idrift_consumer_rebalances_total',
      help: 'Consumer group rebalances this instance took part in (group joins).',
      registers: r,
    }),
    httpRequestSeconds: new Histogram({
      name: 'idrift_http_request_duration_seconds',
      help: 'HTTP requests (lookup API, probes, metrics) from arrival at the HTTP thread to response sent, seconds.',
      labelNames: ['route', 'code'] as const,
      buckets: [0.0005, ...SECONDS_BUCKETS],
      registers: r,
    }),
    lookupCache: new Counter({
      name: 'idrift_lookup_cache_requests_total',
      help: 'Interest lookups of a valid user id, by whether the HTTP thread answered from its cache (hit) or asked the processing thread (miss).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    lookupCacheUsers: new Gauge({
      name: 'idrift_lookup_cache_users',
      help: 'Users whose lookup answers the HTTP thread holds (at most IDRIFT_LOOKUP_CACHE_USERS).',
      registers: r,
    }),
    ready: new Gauge({
      name: 'idrift_ready',
      help: '1 while /readyz answers 200: running, model loaded, group joined and every assigned partition restored; 0 otherwise (starting, restoring after a rebalance, stopping).',
      registers: r,
      collect() {
        this.set(readiness.probe() ? 1 : 0);
      },
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The metrics of `interest-drift alert-bridge` (a process of its own, with its own /metrics):
 * what the retention team's alerting depends on, so that an Alertmanager outage or a bridge that
 * falls behind is itself alerted on (k8s/monitoring/prometheusrule.yaml).
 */
export function createAlertBridgeMetrics(registry: Registry = new Registry(), withDefaults = true) {
  if (withDefaults) collectDefaultMetrics({ register: registry, prefix: 'idrift_' });
  const r = [registry];
  return {
    registry,
    records: new Counter({
      name: 'idrift_alert_bridge_records_total',
      help: 'churn.risk records handled: delivered to Alertmanager (or nothing to deliver), or undecodable (sent to the dead-letter topic IDRIFT_ALERT_BRIDGE_DLQ_TOPIC with the reason).',
      labelNames: ['outcome'] as const,
      registers: r,
    }),
    deliveryFailures: new Counter({
      name: 'idrift_alert_bridge_delivery_failures_total',
      help: 'Failed attempts to deliver a record to Alertmanager, by error code (retriable ones are retried with backoff).',
      labelNames: ['code'] as const,
      registers: r,
    }),
    replicaFailures: new Counter({
      name: 'idrift_alert_bridge_replica_failures_total',
      help: 'Records an Alertmanager replica missed while another took them, by replica (its index in IDRIFT_ALERTMANAGER_URL, from 0).',
      labelNames: ['replica'] as const,
      registers: r,
    }),
    lag: new Gauge({
      name: 'idrift_alert_bridge_lag_records',
      help: "Records of the churn topic after the last one the bridge handled, by partition, as far as the partition's last fetch knew (updated record by record).",
      labelNames: ['partition'] as const,
      registers: r,
    }),
  };
}

export type AlertBridgeMetrics = ReturnType<typeof createAlertBridgeMetrics>;
