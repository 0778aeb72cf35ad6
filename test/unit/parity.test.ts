/**
 * The CPU backends against PyTorch fixtures (test/reference/make_fixtures.py):
 * logits, loss, per-sequence losses, every gradient, 10 AdamW steps — for
 * the TypeScript reference and the WebAssembly engine (one and two threads),
 * with the same tolerances. Prints the largest difference per check; fails
 * on any mismatch.
 */
import { expect, test } from 'vitest';
import { checkFixture, formatCheck, loadFixtures, PARITY_ENGINES } from '../../bin/parity';

const fixtures = loadFixtures();

test('there are PyTorch fixtures to check against', () => {
  expect(fixtures.map((f) => f.name).sort()).toEqual(['small', 'tiny']);
});

for (const engine of PARITY_ENGINES) for (const fx of fixtures) {
  test(`CPU backend (${engine}) matches PyTorch on fixture '${fx.name}' (${fx.source})`, async () => {
    const lines = await checkFixture(fx, engine);
    console.log(lines.map(formatCheck).join('\n'));
    const failures = lines.filter((l) => !l.ok).map(formatCheck);
    expect(failures).toEqual([]);
    expect(lines.length).toBeGreaterThan(10);
  });
}
