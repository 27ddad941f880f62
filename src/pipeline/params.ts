/**
 * The processing parameters every runner of the topology uses (the service, eval, benches and
 * tests): core defaults ← calibrated thresholds in the model metadata ← config overrides.
 */
import type { CoreParams } from '../core/params';
import { DEFAULT_PARAMS } from '../core/params';
import type { ValidationLimits } from '../core/validate';
import { DEFAULT_LIMITS } from '../core/validate';
import type { ModelManifest } from '../model/model-manifest';
import type { Config } from '../shared/config';

/** Core parameters: defaults ← calibrated thresholds in the model metadata ← config overrides. */
export function coreParams(config: Config, manifest: ModelManifest): CoreParams {
  const t = (manifest.raw.thresholds ?? {}) as {
    drift?: Partial<CoreParams['drift']>;
    churn?: Partial<CoreParams['churn']>;
  };
  const drift = { ...DEFAULT_PARAMS.drift, ...(t.drift ?? {}) };
  if (config.processing.driftEnterThreshold !== null)
    drift.enterThreshold = config.processing.driftEnterThreshold;
  if (config.processing.driftExitThreshold !== null)
    drift.exitThreshold = config.processing.driftExitThreshold;
  return {
    ...DEFAULT_PARAMS,
    allowedLatenessMs: config.processing.allowedLatenessMs,
    profileMinIntervalMs: config.profileMinIntervalMs,
    stateTtlMs: config.processing.stateTtlMs,
    drift,
    churn: { ...DEFAULT_PARAMS.churn, ...(t.churn ?? {}) },
  };
}

/** Input validation limits: defaults with the configured tolerance for future event times. */
export function validationLimits(config: Config): ValidationLimits {
  return { ...DEFAULT_LIMITS, maxFutureMs: config.processing.maxEventFutureMs };
}
