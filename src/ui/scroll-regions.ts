/**
 * Keyboard access to tables wider than their box. The app wraps such a table
 * in `<div class="table-wrap">` (overflow-x: auto); a mouse or a finger can
 * scroll it, a keyboard cannot unless the box takes focus (WCAG 2.1.1;
 * axe-core's rule scrollable-region-focusable). `scrollRegions(root)` watches
 * every `.table-wrap` under root and, while one overflows, makes it a named
 * region in the tab order (tabindex 0, role region, aria-label from the
 * table's caption or its section's heading), so Tab reaches it and the arrow
 * keys scroll it; when it fits again those attributes go. A box that already
 * has a tabindex of its own is left alone.
 * Started once, on the element the app is mounted in (main.ts).
 */

/** Marks the boxes whose attributes this module set (and may take away). */
const MARK = 'data-scroll-region';

/** What a screen reader announces for the region: its table's caption, else the nearest heading around it. */
function labelOf(box: HTMLElement): string {
  const caption = box.querySelector('caption')?.textContent?.trim();
  if (caption) return caption;
  const around = box.closest('section, details, figure, article');
  const heading = around?.querySelector('h2, h3, h4, summary, figcaption')?.textContent?.trim();
  return heading ? `${heading} (table)` : 'Table';
}

function update(box: HTMLElement): void {
  const overflows = box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
  const ours = box.hasAttribute(MARK);
  if (overflows && !ours && !box.hasAttribute('tabindex')) {
    box.setAttribute(MARK, '');
    box.tabIndex = 0;
    box.setAttribute('role', 'region');
    box.setAttribute('aria-label', labelOf(box));
  } else if (!overflows && ours) {
    for (const name of [MARK, 'tabindex', 'role', 'aria-label']) box.removeAttribute(name);
  }
}

/** Keep every `.table-wrap` under `root` keyboard-scrollable while it overflows; returns the cleanup. */
export function scrollRegions(root: HTMLElement): () => void {
  let frame = 0;
  const watched = new WeakSet<Element>();
  const resizes = new ResizeObserver((entries) => {
    for (const e of entries) update(e.target as HTMLElement);
  });
  const scan = () => {
    frame = 0;
    for (const box of root.querySelectorAll<HTMLElement>('.table-wrap')) {
      if (!watched.has(box)) {
        watched.add(box);
        resizes.observe(box); // its own width changes (window, layout)
      }
      update(box); // its table's content may have changed
    }
  };
  // Content changes (rows arriving, pages switching): one scan per frame at most.
  const mutations = new MutationObserver(() => {
    frame ||= requestAnimationFrame(scan);
  });
  mutations.observe(root, { childList: true, subtree: true, characterData: true });
  scan();
  return () => {
    mutations.disconnect();
    resizes.disconnect();
    if (frame) cancelAnimationFrame(frame);
  };
}
