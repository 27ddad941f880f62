/** A progress line on stderr: redrawn in place on a terminal, one line per update otherwise. */
export interface ProgressWriter {
  readonly update: (done: number, total: number) => void;
  /** Ends the in-place line on a terminal. */
  readonly done: () => void;
}

export function progressWriter(label: string, stream: NodeJS.WriteStream = process.stderr): ProgressWriter {
  const tty = stream.isTTY === true;
  return {
    update: (done, total) =>
      void stream.write(`${tty ? '\r' : ''}${label} ${progressBar(done, total)}${tty ? '' : '\n'}`),
    done: () => {
      if (tty) stream.write('\n');
    },
  };
}

/** A one-line progress bar. */
export function progressBar(done: number, total: number, width = 30): string {
  const f = total === 0 ? 1 : done / total;
  const full = Math.round(f * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${done}/${total} (${(f * 100).toFixed(0)} %)`;
}
