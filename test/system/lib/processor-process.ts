/**
 * One processor as an OS process (`node <the service's V8 flags> --import tsx src/main.ts run`), so
 * faults are real: SIGKILL, SIGSTOP/SIGCONT, SIGTERM. Its stdout/stderr go to a log file that the
 * privacy check reads afterwards.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { SERVICE_NODE_FLAGS } from '../../../src/shared/node-flags';
import { createWriteStream, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './cluster';

export class ProcessorProcess {
  private child: ChildProcess | null = null;
  private exited: Promise<number | null> = Promise.resolve(null);
  readonly startedAtMs: number[] = [];
  /** How the last run ended (null while none has). */
  lastExit: { code: number | null; signal: string | null; atMs: number } | null = null;

  constructor(
    readonly name: string,
    private readonly env: Record<string, string>,
    readonly logPath: string,
    readonly httpPort: number,
    /** Source tree to run (the upgrade scenario runs an older commit's checkout). */
    private readonly root: string = ROOT,
  ) {}

  start(): void {
    if (this.child) throw new Error(`${this.name} already running`);
    const log = createWriteStream(this.logPath, { flags: 'a' });
    log.write(`--- start ${new Date().toISOString()}\n`);
    const child = spawn(
      process.execPath,
      [...SERVICE_NODE_FLAGS, '--import', 'tsx', join(this.root, 'src', 'main.ts'), 'run'],
      {
        cwd: this.root,
        env: { ...process.env, ...this.env, IDRIFT_HTTP_PORT: String(this.httpPort) },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    child.stdout?.pipe(log, { end: false });
    child.stderr?.pipe(log, { end: false });
    this.exited = new Promise((resolve) =>
      child.on('exit', (code, signal) => {
        log.write(`--- exit code=${code} signal=${signal} ${new Date().toISOString()}\n`);
        this.lastExit = { code, signal, atMs: Date.now() };
        log.end();
        if (this.child === child) this.child = null;
        resolve(code);
      }),
    );
    this.child = child;
    this.startedAtMs.push(Date.now());
  }

  get running(): boolean {
    return this.child !== null;
  }

  /** SIGKILL: no shutdown hook runs; an open transaction stays open until fenced or timed out. */
  async kill9(): Promise<void> {
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  /** SIGTERM and wait for the ordered shutdown; returns the exit code. */
  async stop(): Promise<number | null> {
    this.child?.kill('SIGTERM');
    return this.exited;
  }

  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  log(): string {
    try {
      return readFileSync(this.logPath, 'utf8');
    } catch {
      return '';
    }
  }

  /** The /metrics text, or '' when the process does not answer. */
  async metrics(): Promise<string> {
    try {
      const res = await fetch(`http://127.0.0.1:${this.httpPort}/metrics`, {
        signal: AbortSignal.timeout(3_000),
      });
      return res.ok ? await res.text() : '';
    } catch {
      return '';
    }
  }
}
