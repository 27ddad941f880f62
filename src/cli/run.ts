/** `interest-drift run`: the stream processor until SIGTERM/SIGINT or a fatal error. */
import { loadConfigWithDefaults } from '../shared/config';
import { createApp } from '../app/create-app';
import { describeError } from '../shared/errors';
import { createLogger } from '../shared/logger';

export async function runService(): Promise<number> {
  const config = loadConfigWithDefaults({}, { modelFiles: true }, 'run');
  const logger = createLogger(config.logLevel);
  const app = createApp(config, logger);
  const onSignal = (sig: string): void => {
    logger.info('signal received', { signal: sig });
    void app.stop(sig);
  };
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.on('unhandledRejection', (e) => {
    logger.error('unhandled rejection', { error: describeError(e) });
    void app.stop('unhandled rejection', true);
  });
  await app.start();
  return app.done;
}
