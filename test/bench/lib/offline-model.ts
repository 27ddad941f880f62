/**
 * The service's committed model (encoder on the CPU, manifest) and its core parameters with the
 * default configuration, for probes that run the topology without Kafka: the Kafka and registry
 * settings are required by the configuration but never used here.
 */
import { join } from 'node:path';
import type { CoreParams } from '../../../src/core/params';
import type { Encoder } from '../../../src/model/encoder';
import { createThreadedEncoder } from '../../../src/model/encoder-thread';
import type { ModelManifest } from '../../../src/model/model-manifest';
import { loadManifest } from '../../../src/model/model-manifest';
import { createOnnxEncoder } from '../../../src/model/onnx-encoder';
import { coreParams } from '../../../src/pipeline/params';
import { loadConfig } from '../../../src/shared/config';
import { createLogger } from '../../../src/shared/logger';

export async function offlineModel(
  thread: 'main' | 'worker' = 'main',
): Promise<{ encoder: Encoder; manifest: ModelManifest; params: CoreParams }> {
  const root = join(__dirname, '..', '..', '..');
  const config = loadConfig({
    IDRIFT_KAFKA_BROKERS: 'unused:9092',
    IDRIFT_SCHEMA_REGISTRY_URL: 'http://unused',
  });
  const options = {
    modelPath: join(root, config.model.path),
    manifestPath: join(root, config.model.metaPath),
    provider: 'cpu' as const,
  };
  const logger = createLogger('error');
  const { encoder } =
    thread === 'worker'
      ? await createThreadedEncoder({ ...options, logLevel: 'error' }, logger)
      : await createOnnxEncoder(options, logger);
  const manifest = loadManifest(options.manifestPath);
  return { encoder, manifest, params: coreParams(config, manifest) };
}
