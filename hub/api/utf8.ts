/**
 * Strict UTF-8 decoding at the door: a body with bad bytes is refused, never silently altered
 * into U+FFFD replacement characters.
 */

const strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The body as text, or the byte offset of the first byte that is not well-formed UTF-8. */
export function decodeUtf8(bytes: Uint8Array): { text: string } | { offset: number } {
  try {
    return { text: strict.decode(bytes) };
  } catch {
    // TextDecoder says only that it failed; the scan that says where runs on refused bodies alone.
    return { offset: firstInvalidOffset(bytes) };
  }
}

/** Where the first ill-formed sequence starts (Unicode 15, table 3-7); -1 if there is none. */
export function firstInvalidOffset(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const lead = bytes[i]!;
    if (lead < 0x80) {
      i += 1;
      continue;
    }
    // Continuation count and the allowed range of the second byte, which excludes overlongs,
    // surrogates (ED A0..BF) and code points past U+10FFFF (F4 90..).
    let follow: number;
    let low = 0x80;
    let high = 0xbf;
    if (lead >= 0xc2 && lead <= 0xdf) follow = 1;
    else if (lead === 0xe0) [follow, low] = [2, 0xa0];
    else if (lead === 0xed) [follow, high] = [2, 0x9f];
    else if (lead >= 0xe1 && lead <= 0xef) follow = 2;
    else if (lead === 0xf0) [follow, low] = [3, 0x90];
    else if (lead === 0xf4) [follow, high] = [3, 0x8f];
    else if (lead >= 0xf1 && lead <= 0xf3) follow = 3;
    else return i;
    for (let k = 1; k <= follow; k += 1) {
      const byte = bytes[i + k];
      const [min, max] = k === 1 ? [low, high] : [0x80, 0xbf];
      if (byte === undefined || byte < min || byte > max) return i;
    }
    i += follow + 1;
  }
  return -1;
}
