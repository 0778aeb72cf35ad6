/**
 * A second text-classification set for the symbiosis lab, made offline from
 * the manual pages installed on a Debian machine: which section of the
 * manual does a paragraph come from? Six classes with known labels:
 *
 *   commands (man1) · system calls (man2) · library functions (man3) ·
 *   file formats (man5) · overviews (man7) · administration (man8)
 *
 *   npx tsx bin/make-man-dataset.ts OUT_DIR [--man /usr/share/man] [--train 1000] [--test 250]
 *
 * writes OUT_DIR/train.jsonl, test.jsonl (lines {"text", "label"}) and
 * labels.txt, the folder format of bin/data-folder.ts. Each page's roff is
 * reduced to plain text (macros and font escapes dropped), split into
 * paragraphs, and every paragraph of 12 or more words (cut to 120 words)
 * is a row, except those of NAME and SYNOPSIS (a prototype would give the
 * section away). A page goes wholly to train or to test (by a hash of its
 * file name, a fifth to test), so no page is in both; a paragraph found
 * under two sections or in both splits is dropped. Per class, `--train`
 * and `--test` rows are drawn with a fixed seed (fewer where a class has
 * fewer). Pages that only include another (`.so`) are skipped. Only
 * `name.N.gz` files count (man3's Perl `.3pm` pages do not).
 *
 * The numbers in docs/symbiosis.md were made from Debian 12's pages
 * (manpages 6.03-2, manpages-dev 6.03-2 and the pages of the packages
 * installed beside them); other machines have other pages, so the same
 * command gives a similar, not the same, dataset.
 */
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { Rng, keyFromSeed } from '../src/core/rng';

export const MAN_SECTIONS = [
  { section: '1', name: 'commands' },
  { section: '2', name: 'system calls' },
  { section: '3', name: 'library functions' },
  { section: '5', name: 'file formats' },
  { section: '7', name: 'overviews' },
  { section: '8', name: 'administration' },
] as const;

const MIN_WORDS = 12;
const MAX_WORDS = 120;
/** Sections whose paragraphs are not rows. */
const SKIPPED = new Set(['NAME', 'SYNOPSIS']);

/** Roff escapes in running text → plain characters (the common ones; the rest are dropped). */
function unescape(line: string): string {
  const named: Record<string, string> = {
    aq: "'", lq: '"', rq: '"', oq: "'", cq: "'", em: '—', en: '–', hy: '-', mi: '-', bu: '•', co: '©', rg: '®', tm: '™',
    dq: '"', ti: '~', ha: '^', bs: '\\', at: '@', sh: '#', Do: '$', lB: '[', rB: ']', lC: '{', rC: '}', ga: '`', aa: '´',
  };
  return line
    .replace(/\\"].*$/, '')
    .replace(/\\\(([A-Za-z]{2})/g, (_, n: string) => named[n] ?? '')
    .replace(/\\\[([A-Za-z]+)\]/g, (_, n: string) => named[n] ?? '')
    .replace(/\\f(\(..|\[[^\]]*\]|.)/g, '')
    .replace(/\\\*(\(..|\[[^\]]*\]|.)/g, '')
    .replace(/\\s[-+]?\d+/g, '')
    .replace(/\\[-e]/g, (m) => (m === '\\-' ? '-' : '\\'))
    .replace(/\\[&|^%~0 ]/g, (m) => (m === '\\~' || m === '\\ ' || m === '\\0' ? ' ' : ''))
    .replace(/\\(.)/g, '$1');
}

/** The paragraphs of one page's roff source, with the section heading each is under. */
export function roffParagraphs(source: string): { heading: string; text: string }[] {
  const out: { heading: string; text: string }[] = [];
  let heading = '';
  let current: string[] = [];
  const flush = () => {
    const text = current.join(' ').replace(/\s+/g, ' ').trim();
    if (text !== '') out.push({ heading, text });
    current = [];
  };
  for (const raw of source.split('\n')) {
    const line = raw.replace(/\r$/, '');
    if (/^[.']\s*\\"/.test(line) || line.startsWith('\\"')) continue;
    const macro = /^[.']\s*([A-Za-z]{1,3})\b\s*(.*)$/.exec(line);
    if (macro) {
      const [, name, args] = macro as unknown as [string, string, string];
      if (name === 'SH' || name === 'SS') {
        flush();
        if (name === 'SH') heading = unescape(args).replace(/"/g, '').trim().toUpperCase();
      } else if (['PP', 'LP', 'P', 'TP', 'IP', 'HP', 'RS', 'RE', 'nf', 'fi', 'EX', 'EE', 'sp', 'br', 'TS', 'TE', 'in', 'TH'].includes(name)) {
        flush();
      } else if (['B', 'I', 'BR', 'RB', 'BI', 'IB', 'IR', 'RI', 'SM', 'SB', 'UR', 'MT', 'OP'].includes(name)) {
        // Font macros: their arguments are running text (quotes group words).
        current.push(unescape(args.replace(/"/g, '')));
      }
      continue;
    }
    if (line.startsWith('.') || line.startsWith("'")) continue;
    current.push(unescape(line));
  }
  flush();
  return out;
}

/** 32-bit FNV-1a of a string: which split a page goes to. */
function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function main(argv: string[]): void {
  const [outDir, ...rest] = argv;
  if (!outDir || outDir.startsWith('--')) throw new Error('usage: make-man-dataset.ts OUT_DIR [--man DIR] [--train N] [--test N]');
  const opt = (flag: string, fallback: string) => {
    const i = rest.indexOf(flag);
    return i >= 0 && rest[i + 1] !== undefined ? rest[i + 1]! : fallback;
  };
  const manDir = opt('--man', '/usr/share/man');
  const perClass = { train: Number(opt('--train', '1000')), test: Number(opt('--test', '250')) };
  const rng = new Rng(keyFromSeed(2024));
  // Every usable paragraph of every page, with its class and split; a text found under two classes, or in both splits, is dropped.
  const found = MAN_SECTIONS.map(({ section }) => {
    const dir = join(manDir, `man${section}`);
    const files = readdirSync(dir).filter((f) => f.endsWith(`.${section}.gz`)).sort();
    const out: { text: string; split: 'train' | 'test' }[] = [];
    for (const f of files) {
      const source = gunzipSync(readFileSync(join(dir, f))).toString('utf8');
      if (/^\.so\s/m.test(source.slice(0, 200)) && source.split('\n').filter((l) => l.trim() !== '').length <= 3) continue;
      const split = fnv(f) % 5 === 0 ? 'test' : 'train';
      for (const p of roffParagraphs(source)) {
        if (SKIPPED.has(p.heading)) continue;
        const words = p.text.split(' ');
        if (words.length < MIN_WORDS || p.text.includes('\ufffd')) continue;
        out.push({ text: words.slice(0, MAX_WORDS).join(' '), split });
      }
    }
    return out;
  });
  const places = new Map<string, Set<string>>();
  found.forEach((list, label) => list.forEach((r) => places.set(r.text, (places.get(r.text) ?? new Set()).add(`${label}/${r.split}`))));
  const rows: Record<'train' | 'test', { text: string; label: number }[]> = { train: [], test: [] };
  found.forEach((list, label) => {
    for (const split of ['train', 'test'] as const) {
      const unique = [...new Set(list.filter((r) => r.split === split && places.get(r.text)!.size === 1).map((r) => r.text))];
      const picked = rng.fork(label * 2 + (split === 'test' ? 1 : 0)).shuffle(unique).slice(0, perClass[split]);
      rows[split].push(...picked.map((text) => ({ text, label })));
      console.log(`man${MAN_SECTIONS[label]!.section} ${split}: ${picked.length} of ${unique.length} paragraphs`);
    }
  });
  mkdirSync(outDir, { recursive: true });
  for (const split of ['train', 'test'] as const) {
    const shuffled = rng.fork(100 + (split === 'test' ? 1 : 0)).shuffle(rows[split]);
    writeFileSync(join(outDir, `${split}.jsonl`), shuffled.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
  writeFileSync(join(outDir, 'labels.txt'), MAN_SECTIONS.map((s) => s.name).join('\n') + '\n');
  console.log(`wrote ${outDir}/{train.jsonl,test.jsonl,labels.txt}: ${rows.train.length} train, ${rows.test.length} test rows`);
}

main(process.argv.slice(2));
