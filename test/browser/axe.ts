/**
 * axe-core (https://github.com/dequelabs/axe-core) on a page as it is now:
 * injects axe.min.js from node_modules and runs every rule axe enables by
 * default on the whole document. Returns how many rules passed (so a test
 * can tell that axe ran), the violating nodes counted by impact, and the
 * serious and critical violations one line each (rule id, CSS targets and
 * the start of each node's HTML).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Page } from 'playwright-core';

export interface AxeReport {
  /** Rules with no violation. */
  passed: number;
  /** Violating nodes by impact ('minor', 'moderate', 'serious', 'critical'). */
  counts: Record<string, number>;
  /** `impact rule-id: [target] <html…>, …` for each serious or critical rule. */
  serious: string[];
}

let source: string | null = null;

export async function axeReport(page: Page): Promise<AxeReport> {
  source ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.addScriptTag({ content: source });
  const result = await page.evaluate(async () => {
    const axe = (window as unknown as {
      axe: { run(ctx: Document): Promise<{ passes: unknown[]; violations: { id: string; impact?: string | null; nodes: { target: unknown[]; html: string }[] }[] }> };
    }).axe;
    const r = await axe.run(document);
    return {
      passed: r.passes.length,
      violations: r.violations.map((v) => ({ id: v.id, impact: v.impact ?? 'none', nodes: v.nodes.map((n) => `${JSON.stringify(n.target)} ${n.html.slice(0, 100)}`) })),
    };
  });
  const counts: Record<string, number> = {};
  for (const v of result.violations) counts[v.impact] = (counts[v.impact] ?? 0) + v.nodes.length;
  const serious = result.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.nodes.join(', ')}`);
  return { passed: result.passed, counts, serious };
}
