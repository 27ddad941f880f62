/** `interest-drift alert-bridge`: churn.risk → Prometheus Alertmanager, until SIGTERM/SIGINT. */
import { alertApplier, alertmanagerClient, createAlertIdLabeler } from '../app/alertmanager';
import { alertBridgeAccessPlan, verifyKafkaAccess } from '../kafka/access-check';
import { startAlertBridge } from '../kafka/alert-bridge';
import { untilKafkaAnswers } from '../kafka/failure-policy';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from '../kafka/clients';
import { AvroSerde } from '../kafka/serde';
import { loadConfigWithDefaults } from '../shared/config';
import { describeError } from '../shared/errors';
import { createLogger, createPseudonymiser } from '../shared/logger';
import { createAlertBridgeMetrics } from '../shared/metrics';
import { consumerLoopLiveness, startHttpServer } from '../app/http-server';
import type { AlertBridge } from '../kafka/alert-bridge';

/** The bridge's default HTTP port (IDRIFT_HTTP_PORT unset). */
export const ALERT_BRIDGE_PORT = 9465;

export async function runAlertBridgeCommand(): Promise<number> {
  // Its own default port, so that it can run next to the service (9464) on one machine.
  const config = loadConfigWithDefaults(
    { IDRIFT_HTTP_PORT: String(ALERT_BRIDGE_PORT) },
    { alerting: true },
    'alert-bridge',
  );
  const logger = createLogger(config.logLevel);
  const kafkaOptions = kafkaClientOptions(config, '-alert-bridge');
  const kafka = createKafka(kafkaOptions, logger);
  const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
  const replicas = config.alerts.alertmanagerUrls.map((url) => alertmanagerClient(url));
  const key = Buffer.from(config.logPseudonymKey as string);
  const pseudonym = createPseudonymiser(key);
  const alertIdLabel = createAlertIdLabeler(key);
  const metrics = createAlertBridgeMetrics();
  // /metrics and the probes on IDRIFT_HTTP_PORT (no lookup API: 404). Liveness: the consumer has
  // fetched or heartbeated within max(60 s, 4 × the session timeout), as for the service.
  let bridge: AlertBridge | null = null;
  // A signal before the bridge runs ends the start-up wait; once it runs, it stops the bridge.
  let stopRequested = false;
  const onSignal = (signal: string): void => {
    logger.info('signal received', { signal });
    stopRequested = true;
    void bridge?.stop();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  const http = await startHttpServer(
    { host: config.http.host, port: config.http.port, cacheUsers: 0, maxIdLength: 0 },
    metrics.registry,
    {
      liveness: () => consumerLoopLiveness(bridge?.lastTurnMs ?? 0, config.kafka.sessionTimeoutMs),
      readiness: () => (bridge?.joined ? null : 'consumer group not joined'),
    },
    () => false,
  );
  try {
    // Every missing permission and topic named at start, not at the first record that needs it
    // (a dead letter may come months later); a cluster that does not answer yet is waited for.
    const verified = await untilKafkaAnswers(
      () => verifyKafkaAccess(kafkaOptions, alertBridgeAccessPlan(config), logger),
      () => !stopRequested,
      (e, delayMs) =>
        logger.warn('kafka unavailable at start; retrying', { delayMs, error: describeError(e) }),
    ).then(
      () => true,
      (e: unknown) => {
        if (stopRequested) return false; // the wait ended by a signal: an orderly stop
        throw e;
      },
    );
    if (!verified || stopRequested) return 0;
    const started = await startAlertBridge(
      kafka,
      serde,
      config,
      alertApplier(
        replicas,
        {
          pseudonym,
          alertIdLabel,
          includeUserId: config.alerts.includeUserId,
          firingTtlMs: config.alerts.firingTtlMs,
        },
        Date.now,
        (replica, e) => {
          metrics.replicaFailures.inc({ replica: String(replica) });
          logger.warn('an Alertmanager replica missed a record the others took', {
            replica,
            error: describeError(e),
          });
        },
      ),
      logger,
      metrics,
    );
    bridge = started;
    if (stopRequested) await started.stop();
    await started.done;
  } finally {
    await http.close();
  }
  return 0;
}
