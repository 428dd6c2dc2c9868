/**
 * How deep a JSON text nests, found by a single scan without recursion, so a hostile
 * 200 000-deep array is refused in linear time and never reaches a recursive stage.
 */

/** Where JSON text first nests deeper than `limit`: the JSON Pointer of that container and its index in the text. */
export interface TooDeep {
  path: string;
  index: number;
}

/**
 * The first container opened below `limit` levels, or undefined when the text stays within it.
 * Expects well-formed JSON (run after JSON.parse).
 * @example tooDeep('[[1]]', 1) // { path: '/0', index: 1 }
 */
export function tooDeep(text: string, limit: number): TooDeep | undefined {
  // One frame per open container, never more than `limit` + 1 of them.
  const frames: Array<{ array: boolean; index: number; key: string }> = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (char === 0x22 /* " */) {
      const end = stringEnd(text, i);
      if (expectKey) frames[frames.length - 1]!.key = JSON.parse(text.slice(i, end + 1)) as string;
      expectKey = false;
      i = end;
    } else if (char === 0x5b /* [ */ || char === 0x7b /* { */) {
      if (frames.length === limit) return { path: pointer(frames), index: i };
      frames.push({ array: char === 0x5b, index: 0, key: '' });
      expectKey = char === 0x7b;
    } else if (char === 0x5d /* ] */ || char === 0x7d /* } */) {
      frames.pop();
    } else if (char === 0x2c /* , */) {
      const frame = frames[frames.length - 1]!;
      frame.index += 1;
      expectKey = !frame.array;
    }
  }
  return undefined;
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i += 1) {
    const char = text.charCodeAt(i);
    if (char === 0x5c /* \ */) i += 1;
    else if (char === 0x22) return i;
  }
  return text.length;
}

function pointer(frames: Array<{ array: boolean; index: number; key: string }>): string {
  return frames
    .map((frame) => '/' + (frame.array ? String(frame.index) : frame.key.replace(/~/g, '~0').replace(/\//g, '~1')))
    .join('');
}
