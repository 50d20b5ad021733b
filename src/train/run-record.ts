// The record a validated training run keeps in its folder, one implementation for the task fine-tunes,
// Code2LoRA-Static and Code2LoRA-Evo: the loss curve (loss-curve.json and its chart loss-curve.svg),
// the checkpoint with the lowest validation loss (its folder, and best.json) and the running totals
// (tokens, target tokens, seconds). A run resumed from training-state.safetensors continues the curve,
// the best checkpoint and the totals where the saved state left them; a fresh run starts them anew.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lineChartSvg, type Series } from '../util/svg-plot.js';
import { writeFileAtomicSync } from '../util/atomic.js';
import { removeDirLeftovers, replaceDirAtomicSync } from '../util/atomic-dir.js';
import type { StepInfo } from './loop.js';

/** One optimiser update in loss-curve.json; the totals are cumulative, valLoss on evaluation steps. */
export interface CurvePoint {
  step: number;
  loss: number;
  tokens: number;
  targetTokens: number;
  seconds: number;
  valLoss?: number;
}

/** best.json: the update whose checkpoint is kept. */
export interface BestCheckpoint {
  step: number;
  valLoss: number;
}

/** What loss-curve.svg draws besides the curve itself. */
export interface CurveChart {
  title: string;
  trainLabel: string;
  valLabel: string;
  /** a flat line over the curve's steps at the base model's validation loss (no adapter) */
  base?: { label: string; valLoss: number };
}

/** The chart of a hypernetwork run (Static, Evo): cr-val loss, and the base model's cr-val loss flat. */
export function crValChart(title: string, trainLabel: string, baseValLoss: number): CurveChart {
  return {
    title,
    trainLabel,
    valLabel: 'cr-val (mean over repositories)',
    base: { label: 'cr-val, base model without adapter', valLoss: baseValLoss },
  };
}

export interface RunRecordOptions {
  /** the run folder */
  out: string;
  /** the kept checkpoint's folder, under `out` */
  bestDirName: string;
  /** validate every N updates, and after the last one */
  evalEvery: number;
  steps: number;
}

export class RunRecord {
  /** trainLoop's checkpoint: present while a run is unfinished */
  readonly statePath: string;
  readonly bestDir: string;
  readonly curve: CurvePoint[];
  best: BestCheckpoint;
  tokens: number;
  targetTokens: number;
  seconds: number;
  private readonly curvePath: string;
  private readonly bestPath: string;

  constructor(private readonly o: RunRecordOptions) {
    this.curvePath = join(o.out, 'loss-curve.json');
    this.bestPath = join(o.out, 'best.json');
    this.bestDir = join(o.out, o.bestDirName);
    this.statePath = join(o.out, 'training-state.safetensors');
    removeDirLeftovers(this.bestDir);
    const resuming = existsSync(this.statePath);
    this.curve = resuming && existsSync(this.curvePath) ? JSON.parse(readFileSync(this.curvePath, 'utf8')) : [];
    this.best =
      resuming && existsSync(this.bestPath) && existsSync(this.bestDir)
        ? JSON.parse(readFileSync(this.bestPath, 'utf8'))
        : { step: 0, valLoss: Infinity };
    const last = this.curve[this.curve.length - 1];
    this.tokens = last?.tokens ?? 0;
    this.targetTokens = last?.targetTokens ?? 0;
    this.seconds = last?.seconds ?? 0;
  }

  /** After an update (trainLoop's onStep; the caller adds target tokens itself): adds its tokens and
   *  time to the totals; on an evaluation step takes `validate()` (its time counted too) and, on a new
   *  best, lets `save` write the checkpoint into a folder that atomically replaces bestDir, then
   *  best.json. Appends the point to the curve and returns it. */
  step(info: StepInfo, validate: () => number, save: (dir: string) => void): CurvePoint {
    this.tokens += info.tokens;
    this.seconds += info.seconds;
    const point: CurvePoint = {
      step: info.step,
      loss: info.loss,
      tokens: this.tokens,
      targetTokens: this.targetTokens,
      seconds: this.seconds,
    };
    if (info.step % this.o.evalEvery === 0 || info.step === this.o.steps) {
      const t0 = performance.now();
      point.valLoss = validate();
      if (point.valLoss < this.best.valLoss) {
        this.best = { step: info.step, valLoss: point.valLoss };
        replaceDirAtomicSync(this.bestDir, save);
        writeFileAtomicSync(this.bestPath, JSON.stringify(this.best));
      }
      this.seconds += (performance.now() - t0) / 1000;
      point.seconds = this.seconds;
    }
    this.curve.push(point);
    return point;
  }

  /** Writes loss-curve.json and loss-curve.svg (atomically). */
  writeCurve(chart: CurveChart): void {
    const curve = this.curve;
    writeFileAtomicSync(this.curvePath, JSON.stringify(curve));
    const series: Series[] = [
      { label: chart.trainLabel, points: curve.map((c) => [c.step, c.loss] as [number, number]) },
      {
        label: chart.valLabel,
        points: curve.filter((c) => c.valLoss !== undefined).map((c) => [c.step, c.valLoss!] as [number, number]),
      },
    ];
    if (chart.base)
      series.push({
        label: chart.base.label,
        points: curve.length
          ? [
              [curve[0].step, chart.base.valLoss],
              [curve[curve.length - 1].step, chart.base.valLoss],
            ]
          : [],
      });
    writeFileAtomicSync(
      join(this.o.out, 'loss-curve.svg'),
      lineChartSvg(series, { title: chart.title, xLabel: 'update', yLabel: 'loss (nats/token)' }),
    );
  }
}
