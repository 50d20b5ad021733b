// The queue between HTTP requests and the model: rows wait at most a short collection window, then
// up to maxBatch of them are decoded in one batch whatever their adapters (batch-decode.ts). One
// batch runs at a time (the two cores are the model's); rows that arrive meanwhile form the next.
// A full queue refuses at once (429 with Retry-After) instead of letting latency grow without bound.
import { ApiError } from './errors.js';
import { decodeBatch, positionsNeeded, type DecodeContext, type DecodeOutcome, type DecodeRow } from './batch-decode.js';

export interface SchedulerConfig {
  maxBatch: number;
  maxQueue: number;
  /** collection window before a batch starts, ms */
  windowMs: number;
}

interface Waiting {
  row: DecodeRow;
  resolve: (o: DecodeOutcome) => void;
  reject: (e: unknown) => void;
}

export interface SchedulerStats {
  queued: number;
  running: number;
  batches: number;
  rowsDecoded: number;
  largestBatch: number;
}

export class Scheduler {
  private readonly ctx: DecodeContext;
  private readonly cfg: Readonly<SchedulerConfig>;
  private readonly queue: Waiting[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private runningRows = 0;
  private closing = false;
  private readonly counts = { batches: 0, rowsDecoded: 0, largestBatch: 0 };
  /** sizes of the batches run so far, most recent last (kept for tests and the benchmark; at most 1000) */
  readonly recentBatchSizes: number[] = [];

  constructor(ctx: DecodeContext, cfg: SchedulerConfig) {
    this.ctx = ctx;
    this.cfg = Object.freeze({ ...cfg });
  }

  /** Queues the rows of one request together (all or none); each promise settles when its row ends. */
  submit(rows: DecodeRow[]): Promise<DecodeOutcome>[] {
    if (this.closing) throw new ApiError(503, 'the server is shutting down', { code: 'shutting_down' });
    if (this.queue.length + rows.length > this.cfg.maxQueue) {
      throw new ApiError(429, `the queue is full (${this.queue.length} waiting, at most ${this.cfg.maxQueue}); retry shortly`, {
        code: 'queue_full',
        headers: { 'retry-after': '1' },
      });
    }
    const maxPos = this.ctx.model.config.maxPositionEmbeddings;
    for (const r of rows) {
      if (positionsNeeded([r]) > maxPos)
        throw new Error(`scheduler: a row needs ${positionsNeeded([r])} positions, the model has ${maxPos}`);
    }
    const promises = rows.map(
      (row) =>
        new Promise<DecodeOutcome>((resolve, reject) => {
          const w: Waiting = { row, resolve, reject };
          this.queue.push(w);
          // A row aborted while it waits (timeout, client gone) leaves the queue at once, freeing its place.
          row.signal?.addEventListener(
            'abort',
            () => {
              const i = this.queue.indexOf(w);
              if (i >= 0) {
                this.queue.splice(i, 1);
                resolve({ text: '', tokens: 0, finish: 'aborted' });
              }
            },
            { once: true },
          );
        }),
    );
    this.kick();
    return promises;
  }

  stats(): SchedulerStats {
    return { queued: this.queue.length, running: this.runningRows, ...this.counts };
  }

  /** Refuses new rows; resolves once every queued and running row has ended. */
  async close(): Promise<void> {
    this.closing = true;
    for (;;) {
      const running = this.running;
      if (running !== null) await running;
      else if (this.queue.length > 0 || this.timer !== null) await new Promise((r) => setTimeout(r, this.cfg.windowMs + 1));
      else return;
    }
  }

  private kick(): void {
    if (this.running || this.timer || this.queue.length === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.runBatch().finally(() => {
        this.running = null;
        this.kick();
      });
    }, this.cfg.windowMs);
  }

  /** Takes queued rows in arrival order, up to maxBatch, that fit the context together. */
  private take(): Waiting[] {
    const maxPos = this.ctx.model.config.maxPositionEmbeddings;
    const batch: Waiting[] = [];
    let maxLen = 0,
      maxNew = 0;
    for (let i = 0; i < this.queue.length && batch.length < this.cfg.maxBatch; ) {
      const w = this.queue[i];
      if (w.row.signal?.aborted) {
        this.queue.splice(i, 1);
        w.resolve({ text: '', tokens: 0, finish: 'aborted' });
        continue;
      }
      const len = Math.max(maxLen, w.row.ids.length),
        nw = Math.max(maxNew, w.row.maxTokens);
      if (len + nw <= maxPos) {
        batch.push(w);
        this.queue.splice(i, 1);
        maxLen = len;
        maxNew = nw;
      } else i++;
    }
    return batch;
  }

  private async runBatch(): Promise<void> {
    const batch = this.take();
    if (batch.length === 0) return;
    this.runningRows = batch.length;
    this.counts.batches++;
    this.counts.rowsDecoded += batch.length;
    this.counts.largestBatch = Math.max(this.counts.largestBatch, batch.length);
    this.recentBatchSizes.push(batch.length);
    if (this.recentBatchSizes.length > 1000) this.recentBatchSizes.shift();
    try {
      const outcomes = await decodeBatch(
        this.ctx,
        batch.map((w) => w.row),
      );
      batch.forEach((w, i) => w.resolve(outcomes[i]));
    } catch (e) {
      for (const w of batch) w.reject(e);
    } finally {
      this.runningRows = 0;
    }
  }
}
