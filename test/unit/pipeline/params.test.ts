import type { ModelManifest } from '../../../src/model/model-manifest';
import { coreParams, paramsWarnings } from '../../../src/pipeline/params';
import { loadConfig } from '../../../src/shared/config';

const env = {
  IDRIFT_KAFKA_BROKERS: '127.0.0.1:19092',
  IDRIFT_SCHEMA_REGISTRY_URL: 'http://127.0.0.1:18081/apis/ccompat/v7',
  IDRIFT_CHURN_MODEL_PATH: 'none',
};
/** A model whose metadata carries calibrated drift thresholds, as encoder.meta.json does. */
const manifest = {
  raw: { thresholds: { drift: { enterThreshold: 0.475, exitThreshold: 0.375 } } },
} as unknown as ModelManifest;

describe('coreParams', () => {
  it('takes the calibrated drift thresholds, and a single override of either', () => {
    expect(coreParams(loadConfig(env), manifest).drift).toMatchObject({
      enterThreshold: 0.475,
      exitThreshold: 0.375,
    });
    const lower = loadConfig({ ...env, IDRIFT_DRIFT_ENTER_THRESHOLD: '0.4' });
    expect(coreParams(lower, manifest).drift).toMatchObject({ enterThreshold: 0.4, exitThreshold: 0.375 });
  });

  it.each([
    ['IDRIFT_DRIFT_EXIT_THRESHOLD', '0.99'],
    ['IDRIFT_DRIFT_ENTER_THRESHOLD', '0.3'],
  ])(
    "refuses %s=%s, which puts the exit threshold at or above the model's enter threshold",
    (name, value) => {
      expect(() => coreParams(loadConfig({ ...env, [name]: value }), manifest)).toThrow(
        expect.objectContaining({ code: 'CONFIG_INVALID' }) as Error,
      );
    },
  );

  it("warns of a state TTL shorter than the churn ladder's last re-score (14 days), not of longer or none", () => {
    const ttl = (days: number) =>
      paramsWarnings(
        coreParams(loadConfig({ ...env, IDRIFT_STATE_TTL_MS: String(days * 86_400_000) }), manifest),
      );
    expect(ttl(3).map((w) => w.context)).toEqual([{ ttlHours: 72, lastRungHours: 336 }]);
    expect(ttl(3)[0]?.message).toMatch(/shorter than the churn ladder's last re-score/);
    expect(ttl(14)).toEqual([]);
    expect(ttl(30)).toEqual([]);
    expect(ttl(0)).toEqual([]);
  });
});
