/**
 * SMS segment counting (GSM 03.38 / 3GPP 23.038).
 *
 * A message is GSM-7 when every character is in the basic set or the extension table; otherwise the
 * whole message is sent as UCS-2. Extension characters are sent as ESC + char, so they cost 2 septets.
 * A multipart message spends part of each segment on the concatenation header, and a part never ends
 * between the two halves of an escape pair (GSM-7) or of a surrogate pair (UCS-2): such a character
 * moves whole to the next part.
 */

export type Encoding = 'GSM-7' | 'UCS-2';

export interface SegmentCount {
  encoding: Encoding;
  segments: number;
  /** Septets (GSM-7) or UTF-16 code units (UCS-2) the message takes, before splitting. */
  units: number;
}

export const MAX_SEGMENTS = 10;

const LIMITS: Record<Encoding, { single: number; multi: number }> = {
  'GSM-7': { single: 160, multi: 153 },
  'UCS-2': { single: 70, multi: 67 },
};

// The GSM 03.38 default alphabet, in table order (0x1B, the escape itself, is not a character).
const GSM_BASIC = new Set(
  '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./0123456789:;<=>?' +
    '¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà',
);
// The extension table: form feed, ^ { } \ [ ~ ] | €.
const GSM_EXTENSION = new Set('\f^{}\\[~]|€');

/** Cost of each character in septets, or undefined when the text needs UCS-2. */
function gsmCosts(text: string): number[] | undefined {
  const costs: number[] = [];
  for (const ch of text) {
    if (GSM_BASIC.has(ch)) costs.push(1);
    else if (GSM_EXTENSION.has(ch)) costs.push(2);
    else return undefined;
  }
  return costs;
}

/** Cost of each character in UTF-16 code units: 2 for a surrogate pair, else 1. */
function ucs2Costs(text: string): number[] {
  const costs: number[] = [];
  // for..of walks code points, so an astral character (a valid surrogate pair) arrives as one item.
  for (const ch of text) costs.push(ch.length);
  return costs;
}

/** Greedy packing: each character goes whole into the current part, or starts the next one. */
function partsNeeded(costs: readonly number[], capacity: number): number {
  let parts = 1;
  let used = 0;
  for (const cost of costs) {
    if (used + cost > capacity) {
      parts++;
      used = 0;
    }
    used += cost;
  }
  return parts;
}

export function countSegments(text: string): SegmentCount {
  const gsm = gsmCosts(text);
  const encoding: Encoding = gsm ? 'GSM-7' : 'UCS-2';
  const costs = gsm ?? ucs2Costs(text);
  const units = costs.reduce((sum, c) => sum + c, 0);
  const limits = LIMITS[encoding];
  if (units === 0) return { encoding, segments: 0, units };
  const segments = units <= limits.single ? 1 : partsNeeded(costs, limits.multi);
  return { encoding, segments, units };
}
