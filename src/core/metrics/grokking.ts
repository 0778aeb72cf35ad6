/**
 * Grokking detection (Power et al. 2022: validation accuracy jumps long after
 * training accuracy saturated).
 *
 * The stated rule, on a series of evaluations (step, train acc, val acc):
 *   s_train = the first step with train accuracy ≥ trainThreshold;
 *   s_val   = the first step with val accuracy ≥ valThreshold;
 *   grokking is detected at s_val when both exist and s_val ≥ minDelay · s_train
 *   (generalisation came at least minDelay times later than memorisation).
 * Otherwise the result says which condition failed.
 */
export interface GrokPoint {
  step: number;
  train: number;
  val: number;
}

export interface GrokRule {
  trainThreshold: number;
  valThreshold: number;
  minDelay: number;
}

export const defaultGrokRule: GrokRule = { trainThreshold: 0.95, valThreshold: 0.9, minDelay: 2 };

export type GrokResult =
  | { detected: true; step: number; trainSaturatedAt: number; valReachedAt: number; delay: number }
  | { detected: false; reason: string; trainSaturatedAt: number | null; valReachedAt: number | null };

export function detectGrokking(points: readonly GrokPoint[], rule: GrokRule = defaultGrokRule): GrokResult {
  const sorted = [...points].sort((a, b) => a.step - b.step);
  const sTrain = sorted.find((p) => p.train >= rule.trainThreshold)?.step ?? null;
  const sVal = sorted.find((p) => p.val >= rule.valThreshold)?.step ?? null;
  const pct = (x: number) => `${Math.round(x * 100)}%`;
  if (sTrain === null) {
    return { detected: false, reason: `train accuracy never reached ${pct(rule.trainThreshold)}`, trainSaturatedAt: null, valReachedAt: sVal };
  }
  if (sVal === null) {
    return { detected: false, reason: `validation accuracy never reached ${pct(rule.valThreshold)}`, trainSaturatedAt: sTrain, valReachedAt: null };
  }
  const delay = sVal / Math.max(1, sTrain);
  if (delay < rule.minDelay) {
    return {
      detected: false,
      reason: `validation rose with training (step ${sVal} vs ${sTrain}, less than ${rule.minDelay}× later)`,
      trainSaturatedAt: sTrain, valReachedAt: sVal,
    };
  }
  return { detected: true, step: sVal, trainSaturatedAt: sTrain, valReachedAt: sVal, delay };
}
