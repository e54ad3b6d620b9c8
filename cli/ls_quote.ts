/**
 * How `nfs4 ls` writes a name: the quoting styles of GNU coreutils `ls`
 * (`--quoting-style=WORD`, `-b`, `-N`, `-Q`) and its `-q` question marks,
 * as coreutils 9 prints them in a UTF-8 locale (`LC_ALL=C.UTF-8`).
 *
 * A name is a byte string (lib/client/names.ts): bytes that are not UTF-8
 * are lone surrogates U+DC80..U+DCFF. Quoting works on the bytes:
 *
 * - `literal` writes them as they are (what `ls` does when piped);
 * - `shell-escape` (the default on a terminal) leaves a name alone when a
 *   shell would read it back unchanged, else puts it in single quotes, with
 *   `$'\351'` for a byte that is not a printable character (a control
 *   character, a byte that is not UTF-8); `shell` and `shell-always` quote
 *   the same way without escapes; the `-always` styles quote every name;
 * - `c` (`-Q`) and `escape` (`-b`) write C escapes (`\t`, `\351`), with and
 *   without double quotes; `locale` and `clocale` quote with ‘ and ’.
 *
 * A printable character is one glibc's iswprint() accepts in a UTF-8
 * locale: every assigned code point but controls and the line and paragraph
 * separators. What comes out of quoting is again a byte string: raw bytes
 * stay escapes, and are written as themselves (encodeByteString).
 * @module
 */

import { decodeByteString, encodeByteString } from "../lib/client/names.ts";

/** The styles of `ls --quoting-style`. */
export const QUOTING_STYLES = [
  "literal",
  "locale",
  "shell",
  "shell-always",
  "shell-escape",
  "shell-escape-always",
  "c",
  "escape",
  "clocale",
] as const;

export type QuotingStyle = (typeof QUOTING_STYLES)[number];

/** Whether `word` names a quoting style. */
export function isQuotingStyle(word: string): word is QuotingStyle {
  return (QUOTING_STYLES as readonly string[]).includes(word);
}

/** How names are written in one listing. */
export interface NameQuoting {
  readonly style: QuotingStyle;
  /**
   * Characters that also make a name need quoting or an escape (`ls` adds
   * the space for `escape`, and `=>@|` for `-F`).
   */
  readonly quoteThese?: string | undefined;
  /**
   * Non-printable characters become `?` (`-q`, the default on a terminal);
   * only with the styles that have no escapes (`literal`, `shell`,
   * `shell-always`), as in coreutils.
   */
  readonly hideControl?: boolean | undefined;
}

const Q = 0x27; // '
const DQ = 0x22; // "
const BACKSLASH = 0x5c;
const DOLLAR = 0x24;

/** Characters a shell treats specially anywhere in a word. */
const SHELL_SPECIAL = new Set([...'!"$&()*;<=>[^`|'].map((c) => c.charCodeAt(0)));
/** Characters that never need quoting. */
const SAFE = new Set(
  [..."%+,-./0123456789:ABCDEFGHIJKLMNOPQRSTUVWXYZ]_abcdefghijklmnopqrstuvwxyz"].map((c) =>
    c.charCodeAt(0)
  ),
);
/** C escapes: BEL, BS, FF, VT only with backslash styles; NL, CR, TAB also force shell quotes. */
const C_ESCAPES = new Map([[7, "a"], [8, "b"], [12, "f"], [11, "v"], [10, "n"], [13, "r"], [
  9,
  "t",
]]);
const SHELL_BREAKING_ESCAPES = new Set([10, 13, 9]);

const LEFT_QUOTE = [0xe2, 0x80, 0x98]; // ‘
const RIGHT_QUOTE = [0xe2, 0x80, 0x99]; // ’

/** The style after the aliases are resolved, as the quoting loop sees it. */
interface Mode {
  /** The single-quote family (`shell*`). */
  readonly shell: boolean;
  /** C escapes (`\t`, `\351`); for the shell family, `$'…'` around them. */
  readonly backslash: boolean;
  /** Leave out the outer quotes unless something needs them. */
  readonly elide: boolean;
  readonly open: readonly number[];
  readonly close: readonly number[];
}

function modeOf(style: QuotingStyle): Mode {
  switch (style) {
    case "c":
      return { shell: false, backslash: true, elide: false, open: [DQ], close: [DQ] };
    case "escape":
      return { shell: false, backslash: true, elide: false, open: [], close: [] };
    case "locale":
    case "clocale":
      return { shell: false, backslash: true, elide: false, open: LEFT_QUOTE, close: RIGHT_QUOTE };
    case "shell-escape":
      return { shell: true, backslash: true, elide: true, open: [Q], close: [Q] };
    case "shell":
      return { shell: true, backslash: false, elide: true, open: [Q], close: [Q] };
    case "shell-escape-always":
      return { shell: true, backslash: true, elide: false, open: [Q], close: [Q] };
    case "shell-always":
      return { shell: true, backslash: false, elide: false, open: [Q], close: [Q] };
    case "literal":
      return { shell: false, backslash: false, elide: false, open: [], close: [] };
  }
}

const NOT_PRINTABLE = /[\p{Cc}\p{Cn}\p{Zl}\p{Zp}\p{Cs}]/u;

/** Whether a code point is printable in a UTF-8 locale (glibc's iswprint()). */
export function isPrintableCodePoint(cp: number): boolean {
  if (cp >= 0x20 && cp < 0x7f) return true;
  return !NOT_PRINTABLE.test(String.fromCodePoint(cp));
}

/**
 * The UTF-8 character at `i`: its length and code point, or length 0 when
 * the byte there starts no complete, valid sequence (RFC 3629).
 */
function utf8At(bytes: Uint8Array, i: number): { length: number; cp: number } {
  const b0 = bytes[i]!;
  if (b0 < 0x80) return { length: 1, cp: b0 };
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const b = bytes[i + k];
    return b !== undefined && b >= lo && b <= hi;
  };
  let length = 0;
  if (b0 >= 0xc2 && b0 <= 0xdf) length = cont(1) ? 2 : 0;
  else if (b0 === 0xe0) length = cont(1, 0xa0) && cont(2) ? 3 : 0;
  else if (b0 === 0xed) length = cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  else if (b0 >= 0xe1 && b0 <= 0xef) length = cont(1) && cont(2) ? 3 : 0;
  else if (b0 === 0xf0) length = cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  else if (b0 >= 0xf1 && b0 <= 0xf3) length = cont(1) && cont(2) && cont(3) ? 4 : 0;
  else if (b0 === 0xf4) length = cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  if (length === 0) return { length: 0, cp: 0 };
  let cp = b0 & (length === 2 ? 0x1f : length === 3 ? 0x0f : 0x07);
  for (let k = 1; k < length; k++) cp = (cp << 6) | (bytes[i + k]! & 0x3f);
  return { length, cp };
}

/** Signals that a name needs its outer quotes after all: quote it again without eliding them. */
const FORCE_QUOTES = Symbol("force quotes");

function startsWith(bytes: Uint8Array, at: number, prefix: readonly number[]): boolean {
  if (prefix.length === 0 || at + prefix.length > bytes.length) return false;
  return prefix.every((b, k) => bytes[at + k] === b);
}

/** One pass of quoting; FORCE_QUOTES when the elided outer quotes turn out to be needed. */
function quotePass(
  bytes: Uint8Array,
  mode: Mode,
  extra: ReadonlySet<number> | undefined,
): number[] | typeof FORCE_QUOTES {
  const out: number[] = [];
  const { shell, backslash, elide } = mode;
  let pendingEnd = false; // inside `$'…'`, to be closed before a plain character
  let sawQuote = false;
  let allCompatible = true; // every character reads the same inside "…" as inside '…'
  if (!elide) out.push(...mode.open);

  for (let i = 0; i < bytes.length; i++) {
    let c = bytes[i]!;
    let escaping = false;
    let compatible = false;
    let rightQuote = false;

    // Starts an escape; false when the outer quotes are elided (they are needed now).
    const startEscape = (): boolean => {
      if (elide) return false;
      escaping = true;
      if (shell && !pendingEnd) {
        out.push(Q, DOLLAR, Q);
        pendingEnd = true;
      }
      out.push(BACKSLASH);
      return true;
    };
    const endEscape = () => {
      if (pendingEnd && !escaping) {
        out.push(Q, Q);
        pendingEnd = false;
      }
    };

    if (backslash && !shell && startsWith(bytes, i, mode.close)) {
      if (elide) return FORCE_QUOTES;
      rightQuote = true;
    }

    let escapeAs: number | undefined; // the letter of a C escape
    const letter = C_ESCAPES.get(c);
    if (letter !== undefined) {
      if (SHELL_BREAKING_ESCAPES.has(c) && shell && elide) return FORCE_QUOTES;
      if (backslash) escapeAs = letter.charCodeAt(0);
    } else if (c === BACKSLASH) {
      if (shell) {
        if (elide) return FORCE_QUOTES;
      } else if (backslash) {
        escapeAs = BACKSLASH;
      }
    } else if (
      c === 0x20 ||
      ((c === 0x23 || c === 0x7e) && i === 0) || // # ~ start a comment, a home directory
      ((c === 0x7b || c === 0x7d) && bytes.length === 1) // a lone { or }
    ) {
      compatible = true;
      if (shell && elide) return FORCE_QUOTES;
    } else if (SHELL_SPECIAL.has(c)) {
      if (shell && elide) return FORCE_QUOTES;
    } else if (c === Q) {
      sawQuote = true;
      compatible = true;
      if (shell) {
        if (elide) return FORCE_QUOTES;
        out.push(Q, BACKSLASH, Q);
        pendingEnd = false;
      }
    } else if (SAFE.has(c)) {
      compatible = true;
    } else if (c === 0x3f || c === 0x23 || c === 0x7e || c === 0x7b || c === 0x7d) {
      // ? (only special to a shell unquoted, which the elided style leaves it), and
      // # ~ { } where they are plain.
      if (c === 0x3f && shell && elide) return FORCE_QUOTES;
    } else {
      // A character outside ASCII's plain set: a control character, '@',
      // a UTF-8 sequence, or a byte that is not UTF-8.
      const { length, cp } = utf8At(bytes, i);
      const printable = length > 0 && isPrintableCodePoint(cp);
      const m = Math.max(1, length);
      compatible = printable;
      if (m > 1 || (backslash && !printable)) {
        for (let k = 0; k < m; k++) {
          const b = bytes[i + k]!;
          if (backslash && !printable) {
            if (!startEscape()) return FORCE_QUOTES;
            out.push(0x30 + (b >> 6), 0x30 + ((b >> 3) & 7), 0x30 + (b & 7));
          } else {
            if (rightQuote) {
              out.push(BACKSLASH);
              rightQuote = false;
            }
            endEscape();
            out.push(b);
          }
        }
        i += m - 1;
        if (!compatible) allCompatible = false;
        continue;
      }
    }

    if (escapeAs !== undefined) {
      if (!startEscape()) return FORCE_QUOTES;
      c = escapeAs;
    } else if (
      rightQuote ||
      (extra?.has(c) === true && ((backslash && !shell) || elide))
    ) {
      if (!startEscape()) return FORCE_QUOTES;
    }
    endEscape();
    out.push(c);
    if (!compatible) allCompatible = false;
  }

  if (out.length === 0 && shell && elide) return FORCE_QUOTES;
  // A name whose only trouble is an apostrophe reads better in double quotes.
  if (shell && !elide && sawQuote && allCompatible) {
    return quoteBytes(bytes, modeOf("c"), extra);
  }
  if (!elide) out.push(...mode.close);
  return out;
}

function quoteBytes(
  bytes: Uint8Array,
  mode: Mode,
  extra: ReadonlySet<number> | undefined,
): number[] {
  const result = quotePass(bytes, mode, extra);
  if (result !== FORCE_QUOTES) return result;
  // Quote it again with the outer quotes (and no extra characters: the quotes cover them).
  return quoteBytes(bytes, { ...mode, elide: false }, undefined);
}

/**
 * `-q`: every character that is not printable becomes `?`, a byte that is
 * not UTF-8 too, and an incomplete character at the end one `?` for all of it.
 */
function hideControlBytes(bytes: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i < bytes.length;) {
    const { length, cp } = utf8At(bytes, i);
    if (length === 0) {
      out.push(0x3f);
      // An incomplete sequence at the end counts as one character.
      i = truncatedTail(bytes, i) ? bytes.length : i + 1;
    } else {
      if (isPrintableCodePoint(cp)) out.push(...bytes.subarray(i, i + length));
      else out.push(0x3f);
      i += length;
    }
  }
  return out;
}

/** Whether the bytes from `i` to the end are the start of a UTF-8 sequence cut short. */
function truncatedTail(bytes: Uint8Array, i: number): boolean {
  const b0 = bytes[i]!;
  const need = b0 >= 0xc2 && b0 <= 0xdf ? 2 : b0 >= 0xe0 && b0 <= 0xef ? 3 : b0 >= 0xf0 &&
      b0 <= 0xf4
    ? 4
    : 0;
  const rest = bytes.length - i;
  if (need === 0 || rest >= need) return false;
  // Complete it with the smallest continuation bytes and see whether that is valid.
  const probe = new Uint8Array(need);
  probe.set(bytes.subarray(i));
  for (let k = rest; k < need; k++) {
    probe[k] = b0 === 0xe0 && k === 1 ? 0xa0 : b0 === 0xf0 && k === 1 ? 0x90 : 0x80;
  }
  return utf8At(probe, 0).length === need;
}

/** A name as `ls` prints it, and whether quoting changed it (for the alignment of `ls`). */
export interface QuotedName {
  readonly text: string;
  readonly quoted: boolean;
}

const PLAIN_ASCII = /^[%+,\-./0-9:A-Z\]_a-z]+$/;

/**
 * Whether `name` holds one of the characters of `chars`. (Not a closure in
 * quoteName(): a function whose parameter a closure captures makes a scope
 * object at every call, and quoteName() runs once per name.)
 */
function includesAny(name: string, chars: string): boolean {
  for (const c of chars) if (name.includes(c)) return true;
  return false;
}

/**
 * Quotes `name` (a byte string) as coreutils `ls` does with `quoting`.
 *
 * @example
 * ```ts
 * quoteName("lat\udce9in1", { style: "shell-escape" }).text; // "'lat'$'\\351''in1'"
 * quoteName("a b", { style: "shell-escape" }).text;          // "'a b'"
 * quoteName("a b", { style: "escape", quoteThese: " " }).text; // "a\\ b"
 * ```
 */
export function quoteName(name: string, quoting: NameQuoting): QuotedName {
  const { style } = quoting;
  if (style === "literal" && !quoting.hideControl) return { text: name, quoted: false };
  const plain = PLAIN_ASCII.test(name) &&
    (quoting.quoteThese === undefined || !includesAny(name, quoting.quoteThese));
  if (plain && !style.endsWith("-always") && style !== "c" && !style.includes("locale")) {
    return { text: name, quoted: false };
  }
  const bytes = encodeByteString(name);
  const extra = quoting.quoteThese === undefined
    ? undefined
    : new Set([...quoting.quoteThese].map((c) => c.charCodeAt(0)));
  let out = new Uint8Array(quoteBytes(bytes, modeOf(style), extra));
  const quoted = out.length !== bytes.length || out[0] !== bytes[0];
  if (
    quoting.hideControl && (style === "literal" || style === "shell" || style === "shell-always")
  ) {
    out = new Uint8Array(hideControlBytes(out));
  }
  return { text: decodeByteString(out), quoted };
}
