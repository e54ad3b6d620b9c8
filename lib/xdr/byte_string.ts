/**
 * Byte strings as JavaScript strings, losslessly (the PEP 383
 * "surrogateescape" mapping).
 *
 * NFSv4 names are `component4`, an XDR opaque on the wire (RFC 7530 §3.2,
 * RFC 8881 §3.2). RFC 7530 §12 asks for UTF-8, but real servers hand out
 * whatever bytes their file system holds, and a local file name is bytes
 * too. The whole toolkit keeps names as `string` and stays byte-exact:
 *
 * - bytes that form valid UTF-8 decode to the characters they encode;
 * - every byte that is not part of a valid UTF-8 sequence (always 0x80 or
 *   more) decodes to the lone surrogate U+DC80 + (byte - 0x80), i.e.
 *   U+DC00 + byte, a code unit valid UTF-8 can never produce;
 * - encoding turns such a lone surrogate back into its byte, so
 *   `encodeByteString(decodeByteString(b))` is `b` for every `b`.
 *
 * A string with no escaped bytes is plain well-formed Unicode and encodes
 * exactly as `TextEncoder` would. {@linkcode displayByteString} gives the
 * lossy form (U+FFFD per escaped byte) for places that must show text.
 *
 * @example
 * ```ts
 * const name = decodeByteString(new Uint8Array([0x6c, 0xe9])); // "l\udce9"
 * encodeByteString(name); // Uint8Array [0x6c, 0xe9]
 * displayByteString(name); // "l\ufffd"
 * ```
 * @module
 */

const strictDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
const encoder = new TextEncoder();

const ESCAPE_BASE = 0xdc00;
const ESCAPE_FIRST = 0xdc80;
const ESCAPE_LAST = 0xdcff;

/** Decodes bytes to a string; bytes that are not valid UTF-8 become escapes. */
export function decodeByteString(bytes: Uint8Array): string {
  if (bytes.length === 0) return "";
  try {
    // Valid UTF-8 never decodes to a lone surrogate, so this is already the answer.
    return strictDecoder.decode(bytes);
  } catch {
    return decodeSlowly(bytes);
  }
}

/** Encodes a string to bytes, turning escapes back into the bytes they stand for. */
export function encodeByteString(text: string): Uint8Array {
  if (text.isWellFormed()) return encoder.encode(text);
  const out: number[] = [];
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= ESCAPE_FIRST && unit <= ESCAPE_LAST) {
      out.push(unit - ESCAPE_BASE);
      continue;
    }
    let codePoint = unit;
    if (unit >= 0xd800 && unit <= 0xdbff) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        codePoint = 0x10000 + ((unit - 0xd800) << 10) + (next - 0xdc00);
        i++;
      } else {
        codePoint = 0xfffd; // a lone high surrogate: what TextEncoder writes too
      }
    } else if (unit >= 0xdc00 && unit <= 0xdfff) {
      codePoint = 0xfffd;
    }
    pushUtf8(out, codePoint);
  }
  return new Uint8Array(out);
}

/** Whether the string carries bytes that are not UTF-8 (escapes). */
export function hasEscapedBytes(text: string): boolean {
  if (text.isWellFormed()) return false;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit >= ESCAPE_FIRST && unit <= ESCAPE_LAST) return true;
  }
  return false;
}

/** The string as text to show: each escaped byte becomes U+FFFD. */
export function displayByteString(text: string): string {
  return text.isWellFormed() ? text : text.toWellFormed();
}

/** The number of bytes {@linkcode encodeByteString} would produce. */
export function byteLength(text: string): number {
  return encodeByteString(text).length;
}

function pushUtf8(out: number[], cp: number): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 0x3f));
  else if (cp < 0x10000) {
    out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 0x3f), 0x80 | (cp & 0x3f));
  } else {
    out.push(
      0xf0 | (cp >> 18),
      0x80 | ((cp >> 12) & 0x3f),
      0x80 | ((cp >> 6) & 0x3f),
      0x80 | (cp & 0x3f),
    );
  }
}

/**
 * Decodes well-formed UTF-8 sequences (RFC 3629 §4: no overlongs, no
 * surrogates, nothing past U+10FFFF) and escapes every other byte.
 */
function decodeSlowly(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  while (i < bytes.length) {
    const b0 = bytes[i]!;
    if (b0 < 0x80) {
      out += String.fromCharCode(b0);
      i++;
      continue;
    }
    const length = sequenceLength(bytes, i);
    if (length === 0) {
      out += String.fromCharCode(ESCAPE_BASE + b0);
      i++;
      continue;
    }
    let cp = b0 & (length === 2 ? 0x1f : length === 3 ? 0x0f : 0x07);
    for (let k = 1; k < length; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f);
    out += String.fromCodePoint(cp);
    i += length;
  }
  return out;
}

/** The length of the valid UTF-8 sequence starting at `i`, or 0 if there is none. */
function sequenceLength(bytes: Uint8Array, i: number): number {
  const b0 = bytes[i]!;
  const cont = (k: number, lo = 0x80, hi = 0xbf): boolean => {
    const b = bytes[i + k];
    return b !== undefined && b >= lo && b <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) {
    return cont(1) && cont(2) ? 3 : 0;
  }
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}
