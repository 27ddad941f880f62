/**
 * Loads the small learned models stored as JSON beside the encoder: the churn hazard
 * (onnx/train_churn_hazard.py) and the next-category head (onnx/train_next_category_head.py).
 * A file that is missing, not JSON or does not fit this code's features is MODEL_INVALID (fatal
 * at start-up): a service must not silently fall back to another model.
 */
import { readFileSync } from 'node:fs';
import type { ChurnHazardWeights } from '../core/churn-hazard';
import { checkHazardWeights } from '../core/churn-hazard';
import type { NextCategoryHeadWeights } from '../core/next-category-head';
import { checkHeadWeights } from '../core/next-category-head';
import { ProcessorError } from '../shared/errors';

function readChecked<T>(path: string, what: string, check: (w: T) => string[]): T {
  let parsed: T;
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch (e) {
    throw new ProcessorError('MODEL_INVALID', `cannot read the ${what} ${path}`, { cause: e });
  }
  let problems: string[];
  try {
    problems = check(parsed);
  } catch (e) {
    throw new ProcessorError('MODEL_INVALID', `${what} ${path} is malformed`, { cause: e });
  }
  if (problems.length > 0)
    throw new ProcessorError('MODEL_INVALID', `${what} ${path}: ${problems.join('; ')}`);
  return parsed;
}

export function loadChurnHazard(path: string): ChurnHazardWeights {
  return readChecked<ChurnHazardWeights>(path, 'churn hazard', checkHazardWeights);
}

export function loadNextCategoryHead(path: string): NextCategoryHeadWeights {
  return readChecked<NextCategoryHeadWeights>(path, 'next-category head', checkHeadWeights);
}
