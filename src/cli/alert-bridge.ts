/** `interest-drift alert-bridge`: churn.risk → Prometheus Alertmanager, until SIGTERM/SIGINT. */
import { alertApplier, alertmanagerClient } from '../app/alertmanager';
import { startAlertBridge } from '../kafka/alert-bridge';
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
  const kafka = createKafka(kafkaClientOptions(config, '-alert-bridge'), logger);
  const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
  const replicas = config.alerts.alertmanagerUrls.map((url) => alertmanagerClient(url));
  const pseudonym = createPseudonymiser(Buffer.from(config.logPseudonymKey as string));
  const metrics = createAlertBridgeMetrics();
  // /metrics and the probes on IDRIFT_HTTP_PORT (no lookup API: 404). Liveness: the consumer has
  // fetched or heartbeated within max(60 s, 4 × the session timeout), as for the service.
  let bridge: AlertBridge | null = null;
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
    const started = await startAlertBridge(
      kafka,
      serde,
      config,
      alertApplier(
        replicas,
        {
          pseudonym,
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
    const onSignal = (signal: string): void => {
      logger.info('signal received', { signal });
      void started.stop();
    };
    process.once('SIGTERM', () => onSignal('SIGTERM'));
    process.once('SIGINT', () => onSignal('SIGINT'));
    await started.done;
  } finally {
    await http.close();
  }
  return 0;
}
