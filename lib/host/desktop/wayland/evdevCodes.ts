/**
 * Linux input event codes (linux/input-event-codes.h) for the keys a hotkey can name, and the key
 * bitmap that sysfs shows for each event device (`capabilities/key`: hex words, highest first).
 */
import type { Modifier } from '../../../config/keys.js';

export const EV_SYN = 0;
export const EV_KEY = 1;
export const SYN_REPORT = 0;
export const SYN_DROPPED = 3;

const LETTERS = 'qwertyuiop asdfghjkl zxcvbnm';
const LETTER_START = [16, 30, 44];

const NAMED: Record<string, number> = {
  escape: 1,
  backspace: 14,
  tab: 15,
  enter: 28,
  space: 57,
  capslock: 58,
  scrolllock: 70,
  printscreen: 99, // KEY_SYSRQ
  home: 102,
  up: 103,
  pageup: 104,
  left: 105,
  right: 106,
  end: 107,
  down: 108,
  pagedown: 109,
  insert: 110,
  delete: 111,
  pause: 119,
};

const KEYS: Record<string, number> = { ...NAMED };
LETTERS.split(' ').forEach((row, r) => {
  [...row].forEach((ch, i) => {
    KEYS[ch] = (LETTER_START[r] as number) + i;
  });
});
for (let d = 1; d <= 9; d++) KEYS[String(d)] = 1 + d; // KEY_1 = 2 … KEY_9 = 10
KEYS['0'] = 11;
for (let f = 1; f <= 10; f++) KEYS[`f${f}`] = 58 + f; // KEY_F1 = 59 … KEY_F10 = 68
KEYS.f11 = 87;
KEYS.f12 = 88;
for (let f = 13; f <= 24; f++) KEYS[`f${f}`] = 170 + f; // KEY_F13 = 183 … KEY_F24 = 194

/** The evdev code of one of our key names (a KeyCombo's key), or undefined. */
export function evdevCode(key: string): number | undefined {
  return Object.hasOwn(KEYS, key) ? KEYS[key] : undefined;
}

/** The codes of the 26 letter keys: a device that has them all is a keyboard. */
export const LETTER_CODES: readonly number[] = [...LETTERS.replaceAll(' ', '')].map((ch) => KEYS[ch] as number);

/** Left and right key of each modifier. */
export const MODIFIER_CODES: Record<Modifier, readonly [number, number]> = {
  ctrl: [29, 97],
  shift: [42, 54],
  alt: [56, 100],
  meta: [125, 126],
};

/** Bits of the kernel's `long`, the word size of the sysfs bitmaps and of struct input_event's time. */
export const LONG_BITS = ['x64', 'arm64', 'ppc64', 's390x', 'riscv64', 'loong64', 'mips64el'].includes(process.arch) ? 64 : 32;

/** struct input_event: struct timeval (two longs), u16 type, u16 code, s32 value. */
export const EVENT_SIZE = (LONG_BITS / 8) * 2 + 8;

/**
 * The key bitmap of sysfs `capabilities/key` ("120013 ffffefffff 7fffff0 0"): whether each code is set.
 * Unparsable text has no keys.
 */
export function keyBitmap(text: string, wordBits = LONG_BITS): (code: number) => boolean {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (words.length > 64 || !words.every((w) => /^[0-9a-f]{1,16}$/i.test(w))) return () => false;
  const low = words.reverse().map((w) => BigInt(`0x${w}`));
  return (code) => {
    const word = low[Math.floor(code / wordBits)];
    return word !== undefined && ((word >> BigInt(code % wordBits)) & 1n) === 1n;
  };
}

/** The sysfs bitmap text that sets exactly `codes` (for tests and fixtures). */
export function keyBitmapText(codes: Iterable<number>, wordBits = LONG_BITS): string {
  const words: bigint[] = [];
  for (const c of codes) {
    const i = Math.floor(c / wordBits);
    while (words.length <= i) words.push(0n);
    words[i] = (words[i] as bigint) | (1n << BigInt(c % wordBits));
  }
  return words
    .reverse()
    .map((w) => w.toString(16))
    .join(' ');
}
