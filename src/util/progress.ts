// Progress bars on stderr (so --json stdout stays clean); silent when stderr is not a terminal
// unless forced, with a plain line every few seconds instead so logs still show progress.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string | number>): void;
  stop(): void;
}

export function progressBar(label: string, total: number, fieldNames: string[] = []): Progress {
  const fmt = `${label} [{bar}] {percentage}% {value}/{total} eta {eta_formatted}` + fieldNames.map((f) => ` ${f} {${f}}`).join('');
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: fmt, stream: process.stderr, hideCursor: true, etaBuffer: 20 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, Object.fromEntries(fieldNames.map((f) => [f, ''])));
    return { update: (d, f) => bar.update(d, f), stop: () => bar.stop() };
  }
  let last = 0;
  const t0 = Date.now();
  return {
    update(done, fields) {
      const now = Date.now();
      if (now - last < 5000 && done < total) return;
      last = now;
      const eta = done > 0 ? (((now - t0) / done) * (total - done)) / 1000 : 0;
      const extra = fields
        ? Object.entries(fields)
            .map(([k, v]) => ` ${k} ${v}`)
            .join('')
        : '';
      process.stderr.write(`${label} ${done}/${total} eta ${eta.toFixed(0)}s${extra}\n`);
    },
    stop() {},
  };
}
