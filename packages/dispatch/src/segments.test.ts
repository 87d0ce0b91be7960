import { describe, expect, it } from 'vitest';
import { countSegments } from './segments.js';

const a = (n: number) => 'a'.repeat(n);
const c = (n: number) => 'ç'.repeat(n); // not in GSM-7 (only Ç is), so UCS-2, 1 unit each
const EMOJI = '😀'; // a surrogate pair: 2 UTF-16 code units

describe('countSegments', () => {
  it.each([
    // [label, text, encoding, segments]
    ['one GSM character', 'a', 'GSM-7', 1],
    [
      'the whole basic set',
      '@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !"#¤%&\'()*+,-./09:;<=>?¡AZÄÖÑÜ§¿azäöñüà',
      'GSM-7',
      1,
    ],
    ['160 GSM characters', a(160), 'GSM-7', 1],
    ['161 GSM characters', a(161), 'GSM-7', 2],
    ['306 GSM characters (2 × 153)', a(306), 'GSM-7', 2],
    ['307 GSM characters', a(307), 'GSM-7', 3],
    ['1530 GSM characters (10 × 153)', a(1530), 'GSM-7', 10],
    ['1531 GSM characters', a(1531), 'GSM-7', 11],
    ['158 + one extension character = 160 septets', `${a(158)}{`, 'GSM-7', 1],
    ['159 + one extension character = 161 septets', `${a(159)}€`, 'GSM-7', 2],
    ['80 euro signs = 160 septets', '€'.repeat(80), 'GSM-7', 1],
    ['every extension character counts 2', '^{}\\[~]|€\f'.repeat(8), 'GSM-7', 1],
    ['every extension character counts 2 (one more)', `${'^{}\\[~]|€\f'.repeat(8)}a`, 'GSM-7', 2],
    ['form feed counts 2', `${a(159)}\f`, 'GSM-7', 2],
    // 152 + € would be 154 in part 1: the escape pair moves whole to part 2 (152 | 2 + 151 = 153).
    ['escape pair at the 153 edge, part 2 exactly full', `${a(152)}€${a(151)}`, 'GSM-7', 2],
    // Same plus one: 305 → 306 septets fit 2 × 153 in theory, but part 1 holds only 152.
    ['escape pair at the 153 edge, one septet over', `${a(152)}€${a(152)}`, 'GSM-7', 3],
    ['escape pair just inside part 1', `${a(151)}€${a(153)}`, 'GSM-7', 2],
    ['70 UCS-2 characters', c(70), 'UCS-2', 1],
    ['71 UCS-2 characters', c(71), 'UCS-2', 2],
    ['134 UCS-2 characters (2 × 67)', c(134), 'UCS-2', 2],
    ['135 UCS-2 characters', c(135), 'UCS-2', 3],
    ['670 UCS-2 characters (10 × 67)', c(670), 'UCS-2', 10],
    ['one non-GSM character makes the whole message UCS-2', `${a(69)}ç`, 'UCS-2', 1],
    ['a GSM text of 71 with one non-GSM character', `${a(70)}ç`, 'UCS-2', 2],
    ['lowercase omega is not GSM', 'ω', 'UCS-2', 1],
    ['backtick is not GSM', '`', 'UCS-2', 1],
    ['an emoji', EMOJI, 'UCS-2', 1],
    ['35 emoji = 70 code units', EMOJI.repeat(35), 'UCS-2', 1],
    ['35 emoji + 1 = 71 code units', `${EMOJI.repeat(35)}a`, 'UCS-2', 2],
    ['68 + emoji = 70 code units', `${c(68)}${EMOJI}`, 'UCS-2', 1],
    ['69 + emoji = 71 code units', `${c(69)}${EMOJI}`, 'UCS-2', 2],
    // 66 + pair would be 68 in part 1: the pair moves whole to part 2 (66 | 2 + 65 = 67).
    ['surrogate pair at the 67 edge, part 2 exactly full', `${c(66)}${EMOJI}${c(65)}`, 'UCS-2', 2],
    ['surrogate pair at the 67 edge, one unit over', `${c(66)}${EMOJI}${c(66)}`, 'UCS-2', 3],
    ['surrogate pair just inside part 1', `${c(65)}${EMOJI}${c(67)}`, 'UCS-2', 2],
    ['skin-tone modifier sequence is 4 code units', '👍🏽'.repeat(17), 'UCS-2', 1],
    ['flags are 4 code units each', `${'🇺🇸'.repeat(17)}ab`, 'UCS-2', 1],
    ['flags are 4 code units each (one over)', `${'🇺🇸'.repeat(17)}abc`, 'UCS-2', 2],
  ] as const)('%s', (_, text, encoding, segments) => {
    expect(countSegments(text)).toMatchObject({ encoding, segments });
  });

  it('reports the units it counted', () => {
    expect(countSegments(`${a(10)}€`).units).toBe(12);
    expect(countSegments(`ab${EMOJI}`).units).toBe(4);
  });

  it('counts nothing for an empty text', () => {
    expect(countSegments('').segments).toBe(0);
  });
});
