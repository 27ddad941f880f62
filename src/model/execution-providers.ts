/**
 * Execution-provider choice for onnxruntime-node, as a table (STYLE.md §14).
 *
 *   auto → try CUDA when it looks available, fall back to CPU on any failure (logged, counted)
 *   cuda → CUDA or fail start-up (an operator asked for the GPU explicitly)
 *   cpu  → CPU only
 *
 * onnxruntime-node does not fall back by itself: asking for ['cuda', 'cpu'] without the CUDA
 * provider libraries throws at session creation, so the fallback is ours.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ProcessorError } from '../shared/errors';

export type ProviderChoice = 'auto' | 'cuda' | 'cpu';
export type ActiveProvider = 'cuda' | 'cpu';

export const PROVIDER_CHOICES: readonly ProviderChoice[] = ['auto', 'cuda', 'cpu'];

export function parseProviderChoice(raw: string): ProviderChoice {
  if ((PROVIDER_CHOICES as readonly string[]).includes(raw)) return raw as ProviderChoice;
  throw new ProcessorError(
    'CONFIG_INVALID',
    `execution provider "${raw}" should be one of ${PROVIDER_CHOICES.join(', ')}`,
  );
}

/** Why CUDA is not worth trying here, or null if it might work. Cheap: file checks only. */
export function cudaUnavailableReason(ortPackageDir: string): string | null {
  const lib = join(
    ortPackageDir,
    'bin',
    'napi-v6',
    process.platform,
    process.arch,
    'libonnxruntime_providers_cuda.so',
  );
  if (process.platform !== 'linux')
    return `CUDA provider is only packaged for linux (platform ${process.platform})`;
  if (!existsSync(lib)) return 'onnxruntime-node was installed without its CUDA provider library';
  if (!existsSync('/dev/nvidia0') && !existsSync('/proc/driver/nvidia/version'))
    return 'no NVIDIA device is visible';
  return null;
}

/** The ordered attempts for a choice: each is tried in turn until a session is created. */
export function providerAttempts(choice: ProviderChoice, cudaUnavailable: string | null): ActiveProvider[] {
  switch (choice) {
    case 'cpu':
      return ['cpu'];
    case 'cuda':
      return ['cuda'];
    case 'auto':
      return cudaUnavailable === null ? ['cuda', 'cpu'] : ['cpu'];
  }
}
