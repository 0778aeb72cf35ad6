/**
 * Strict UTF-8 decoding for uploaded files: invalid bytes are found and
 * reported, never replaced with U+FFFD. Shared by the labelled-data parser
 * and the plain-text corpus, which word their errors differently.
 */

/** The text, or the byte offset of the first invalid sequence (a byte-order mark is dropped). */
export function decodeUtf8Strict(bytes: Uint8Array): { text: string } | { badByte: number } {
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { badByte: firstInvalidUtf8Byte(bytes) };
  }
}

/**
 * Offset of the first byte of the first invalid sequence (call only on bytes
 * that fail to decode). The longest prefix that decodes (in stream mode, so a
 * cut-off sequence at its end is fine) ends just before the bad byte; a
 * sequence cut short is only invalid at the byte after it, so the offset
 * steps back to its lead byte.
 */
function firstInvalidUtf8Byte(bytes: Uint8Array): number {
  const decodes = (n: number) => {
    try {
      new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(0, n), { stream: true });
      return true;
    } catch {
      return false;
    }
  };
  let lo = 0;
  let hi = bytes.length;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (decodes(mid)) lo = mid;
    else hi = mid - 1;
  }
  for (let j = lo - 1; j >= Math.max(0, lo - 3); j--) {
    if ((bytes[j]! & 0xc0) === 0x80) continue;
    return bytes[j]! >= 0xc0 ? j : lo;
  }
  return lo;
}
