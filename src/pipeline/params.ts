/**
 * The processing parameters every runner of the topology uses (the service, eval, benches and
 * tests): core defaults ← calibrated thresholds in the model metadata ← config overrides.
 */
import type { ChurnHazardWeights } from '../core/churn-hazard';
import { RESCORE_IDLE_HOURS } from '../core/churn-hazard';
import type { CoreParams } from '../core/params';
import { DEFAULT_PARAMS } from '../core/params';
import type { ValidationLimits } from '../core/validate';
import { DEFAULT_LIMITS } from '../core/validate';
import type { ModelManifest } from '../model/model-manifest';
import type { Config } from '../shared/config';
import { ProcessorError } from '../shared/errors';
import { loadChurnHazard } from '../model/learned-weights';

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
  // One override alone is checked against the model's other threshold here, where both are known
  // (loadConfig checks a pair of overrides): with exit ≥ enter a user never gathers evidence.
  if (!(drift.exitThreshold < drift.enterThreshold))
    throw new ProcessorError(
      'CONFIG_INVALID',
      `drift exit threshold ${drift.exitThreshold} should be below the enter threshold ${drift.enterThreshold} ` +
        '(IDRIFT_DRIFT_EXIT_THRESHOLD / IDRIFT_DRIFT_ENTER_THRESHOLD against the model metadata)',
    );
  return {
    ...DEFAULT_PARAMS,
    allowedLatenessMs: config.processing.allowedLatenessMs,
    profileMinIntervalMs: config.profileMinIntervalMs,
    stateTtlMs: config.processing.stateTtlMs,
    drift,
    churn: churnParams(config, t.churn ?? {}),
  };
}

/** A setting that is valid but works against the outputs' consumers: logged at start, not refused. */
export interface ParamsWarning {
  readonly message: string;
  readonly context: Readonly<Record<string, number>>;
}

/**
 * Warnings about `params`. A state TTL (event time) shorter than the churn ladder's last
 * re-score evicts an idle user before the later rungs, and the eviction resolves the user's open
 * churn alert (resolution OTHER) exactly when the user looks most lost. Not refused: a short TTL
 * is how an operator bounds memory, and tests use one on purpose.
 */
export function paramsWarnings(params: CoreParams): ParamsWarning[] {
  const lastRungHours = RESCORE_IDLE_HOURS[RESCORE_IDLE_HOURS.length - 1] as number;
  const ttlHours = params.stateTtlMs / 3_600_000;
  if (params.stateTtlMs === 0 || ttlHours >= lastRungHours) return [];
  return [
    {
      message:
        "IDRIFT_STATE_TTL_MS is shorter than the churn ladder's last re-score: users idle that long are evicted, and their open churn alerts resolved (OTHER), before the later re-scores",
      context: { ttlHours, lastRungHours },
    },
  ];
}

/** Level thresholds: config ← the hazard file's ← defaults. */
function churnParams(config: Config, stored: Partial<CoreParams['churn']>): CoreParams['churn'] {
  const hazard = churnHazard(config.processing.churnModelPath);
  const base = { ...DEFAULT_PARAMS.churn, ...stored };
  return {
    ...base,
    levelThresholds:
      config.processing.churnLevelThresholds ?? hazard?.levelThresholds ?? base.levelThresholds,
    hazard,
  };
}

/** The hazard's features read the state's decayed rates: its half-lives must be the core's. */
function churnHazard(path: string | null): ChurnHazardWeights | null {
  if (path === null) return null;
  const hazard = loadChurnHazard(path);
  if (
    hazard.recentRateHalfLifeMs !== DEFAULT_PARAMS.recentRateHalfLifeMs ||
    hazard.baselineRateHalfLifeMs !== DEFAULT_PARAMS.baselineRateHalfLifeMs
  )
    throw new ProcessorError(
      'MODEL_INVALID',
      `churn hazard ${path} was trained with other rate half-lives than this code keeps in the state`,
    );
  return hazard;
}

/** Input validation limits: defaults with the configured tolerances for future and old event times. */
export function validationLimits(config: Config): ValidationLimits {
  const { maxEventFutureMs, maxEventAgeMs } = config.processing;
  return { ...DEFAULT_LIMITS, maxFutureMs: maxEventFutureMs, maxAgeMs: maxEventAgeMs };
}
