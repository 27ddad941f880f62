/** `interest-drift alert-bridge`: churn.risk → Prometheus Alertmanager, until SIGTERM/SIGINT. */
import { alertApplier, alertmanagerClient } from '../app/alertmanager';
import { startAlertBridge } from '../kafka/alert-bridge';
import { createKafka, createRegistry, kafkaClientOptions, registryClientOptions } from '../kafka/clients';
import { AvroSerde } from '../kafka/serde';
import { loadCommandConfig } from '../shared/config';
import { createLogger, createPseudonymiser } from '../shared/logger';

export async function runAlertBridgeCommand(): Promise<number> {
  const config = loadCommandConfig('alert-bridge', { alerting: true });
  const logger = createLogger(config.logLevel);
  const kafka = createKafka(kafkaClientOptions(config, '-alert-bridge'), logger);
  const serde = new AvroSerde(createRegistry(registryClientOptions(config)));
  const client = alertmanagerClient(config.alerts.alertmanagerUrl as string);
  const pseudonym = createPseudonymiser(Buffer.from(config.logPseudonymKey as string));
  const bridge = await startAlertBridge(
    kafka,
    serde,
    config,
    alertApplier(client, {
      pseudonym,
      includeUserId: config.alerts.includeUserId,
      firingTtlMs: config.alerts.firingTtlMs,
    }),
    logger,
  );
  const onSignal = (signal: string): void => {
    logger.info('signal received', { signal });
    void bridge.stop();
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  await bridge.done;
  return 0;
}
