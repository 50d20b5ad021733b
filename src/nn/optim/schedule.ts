// Learning-rate schedule: linear warm-up, then cosine decay to minLr at totalSteps.
export interface CosineSchedule {
  lr: number;
  minLr: number;
  warmupSteps: number;
  totalSteps: number;
}

/** lr for the update number `step` (counting from 1). */
export function cosineLr(s: CosineSchedule, step: number): number {
  if (step <= s.warmupSteps) return (s.lr * step) / Math.max(1, s.warmupSteps);
  const progress = Math.min(1, (step - s.warmupSteps) / Math.max(1, s.totalSteps - s.warmupSteps));
  return s.minLr + 0.5 * (s.lr - s.minLr) * (1 + Math.cos(Math.PI * progress));
}
