/**
 * Shell patterns as fnmatch(3) matches them, on bytes: what `nfs4 find`'s
 * `-name`, `-iname` and `-path` use. The rules are glibc's `fnmatch()` in
 * the C locale (flags 0, or `FNM_CASEFOLD` for `-iname`), which is what GNU
 * find does under `LC_ALL=C`:
 *
 * - `*` matches any bytes (also `/` and a leading `.`: find passes neither
 *   FNM_PATHNAME nor FNM_PERIOD), `?` any one byte;
 * - `[...]` one byte of a set: ranges by byte value, `[!...]` and `[^...]`
 *   negate, `]` first is a member, `[:alpha:]` and the other C-locale
 *   classes, `[=c=]` and `[.c.]` for a single byte; an unclosed `[` is an
 *   ordinary byte;
 * - `\` makes the next byte ordinary (in a set too); a pattern ending in a
 *   lone `\` matches nothing;
 * - with `casefold`, ASCII letters match either case.
 *
 * Names are bytes (lib/client/names.ts), so `?` is one byte, not one
 * character: `é` in UTF-8 is `??`. The quirks of glibc's code at the
 * corners (a malformed class, a range with an escaped end) are kept on
 * purpose; tests/cli/find_expr_test.ts compares this matcher with the C
 * library's own `fnmatch()` on generated patterns.
 *
 * @example
 * ```ts
 * const isLog = compileGlob(encodeByteString("*.[lL]og"));
 * isLog(encodeByteString("app.Log")); // true
 * ```
 * @module
 */

const STAR = 0x2a; // *
const QUESTION = 0x3f; // ?
const OPEN = 0x5b; // [
const CLOSE = 0x5d; // ]
const BACKSLASH = 0x5c; // \
const BANG = 0x21; // !
const CARET = 0x5e; // ^
const COLON = 0x3a; // :
const DOT = 0x2e; // .
const EQUALS = 0x3d; // =
const DASH = 0x2d; // -
/** The end of the pattern reads as NUL, as in C. */
const END = 0;
/** glibc's CHAR_CLASS_MAX_LENGTH: a longer class name makes the pattern match nothing. */
const CLASS_NAME_MAX = 256;

/** Options of {@linkcode compileGlob}. */
export interface GlobOptions {
  /** FNM_CASEFOLD: ASCII letters match either case (`-iname`). */
  readonly casefold?: boolean;
}

/** The C locale's character classes, for bytes. */
const CLASSES: Record<string, (b: number) => boolean> = {
  alnum: (b) => isDigit(b) || isAlpha(b),
  alpha: (b) => isAlpha(b),
  blank: (b) => b === 0x20 || b === 0x09,
  cntrl: (b) => b < 0x20 || b === 0x7f,
  digit: (b) => isDigit(b),
  graph: (b) => b > 0x20 && b < 0x7f,
  lower: (b) => b >= 0x61 && b <= 0x7a,
  print: (b) => b >= 0x20 && b < 0x7f,
  punct: (b) => b > 0x20 && b < 0x7f && !isDigit(b) && !isAlpha(b),
  space: (b) => b === 0x20 || (b >= 0x09 && b <= 0x0d),
  upper: (b) => b >= 0x41 && b <= 0x5a,
  xdigit: (b) => isDigit(b) || (b >= 0x41 && b <= 0x46) || (b >= 0x61 && b <= 0x66),
};

function isDigit(b: number): boolean {
  return b >= 0x30 && b <= 0x39;
}

function isAlpha(b: number): boolean {
  return (b >= 0x41 && b <= 0x5a) || (b >= 0x61 && b <= 0x7a);
}

function lower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

/** What a bracket expression at a position did. */
type BracketResult =
  /** The byte is in (or, negated, out of) the set; go on at `next`, after `]`. */
  | { readonly kind: "match"; readonly next: number }
  /** No match here (or a malformed set that matches nothing). */
  | { readonly kind: "fail" }
  /** No closing `]`: the `[` is an ordinary byte. */
  | { readonly kind: "literal" };

const FAIL: BracketResult = { kind: "fail" };
const LITERAL: BracketResult = { kind: "literal" };

/**
 * Compiles `pattern` (bytes) into a test of names (bytes). The test is pure
 * and may be called any number of times.
 */
export function compileGlob(
  pattern: Uint8Array,
  options: GlobOptions = {},
): (name: Uint8Array) => boolean {
  const casefold = options.casefold === true;
  return (name) => new Matcher(pattern, name, casefold).match(0, 0);
}

/** One match of a pattern against a name, memoizing what failed (no exponential blow-up). */
class Matcher {
  readonly #failed = new Set<number>();

  constructor(
    readonly pattern: Uint8Array,
    readonly name: Uint8Array,
    readonly casefold: boolean,
  ) {}

  #fold(b: number): number {
    return this.casefold ? lower(b) : b;
  }

  /** The pattern byte at `i`, NUL past the end. */
  #at(i: number): number {
    return i < this.pattern.length ? this.pattern[i]! : END;
  }

  /** Whether the pattern from byte `p` matches the name from byte `n` to its end. */
  match(p: number, n: number): boolean {
    const key = p * (this.name.length + 1) + n;
    if (this.#failed.has(key)) return false;
    const ok = this.#match(p, n);
    if (!ok) this.#failed.add(key);
    return ok;
  }

  #match(p: number, n: number): boolean {
    const name = this.name;
    const end = name.length;
    while (p < this.pattern.length) {
      let c = this.pattern[p++]!;
      switch (c) {
        case QUESTION:
          if (n === end) return false;
          n++;
          break;
        case BACKSLASH:
          // A trailing backslash matches nothing.
          if (p >= this.pattern.length) return false;
          c = this.#fold(this.pattern[p++]!);
          if (n === end || this.#fold(name[n]!) !== c) return false;
          n++;
          break;
        case STAR: {
          // Runs of `*` and `?`: each `?` takes one byte now.
          for (c = this.#at(p++); c === QUESTION || c === STAR; c = this.#at(p++)) {
            if (c === QUESTION) {
              if (n === end) return false;
              n++;
            }
          }
          if (c === END) return true;
          // Try the rest of the pattern at every later position (never at
          // the very end: what follows a `*` takes at least one byte).
          const rest = p - 1;
          if (c === OPEN) {
            for (; n < end; n++) if (this.match(rest, n)) return true;
            return false;
          }
          const first = this.#fold(c === BACKSLASH ? this.#at(p) : c);
          for (; n < end; n++) {
            if (this.#fold(name[n]!) === first && this.match(rest, n)) return true;
          }
          return false;
        }
        case OPEN: {
          const result = this.#bracket(p, n);
          if (result.kind === "fail") return false;
          if (result.kind === "match") {
            p = result.next;
            n++;
            break;
          }
          // An unclosed `[` is itself.
          if (n === end || this.#fold(name[n]!) !== OPEN) return false;
          n++;
          break;
        }
        default:
          if (n === end || this.#fold(name[n]!) !== this.#fold(c)) return false;
          n++;
      }
    }
    return n === end;
  }

  /**
   * The bracket expression whose `[` is just before `p0`, against the name
   * byte at `n` (glibc's internal_fnmatch, case '[', in the C locale, where
   * ranges compare byte values).
   */
  #bracket(p0: number, n: number): BracketResult {
    if (n === this.name.length) return FAIL;
    const at = (i: number) => this.#at(i);
    let p = p0;
    const negated = at(p) === BANG || at(p) === CARET;
    if (negated) p++;
    const byte = this.name[n]!;
    const fn = this.#fold(byte);
    let c = at(p++);
    for (;;) {
      /** A member byte to compare (glibc's normal_bracket), when there is one. */
      let member: number | undefined;
      if (c === BACKSLASH) {
        if (at(p) === END) return FAIL;
        member = this.#fold(at(p));
        p++;
      } else if (c === OPEN && at(p) === COLON) {
        const start = p;
        let className: string | undefined = "";
        for (;;) {
          if (className.length === CLASS_NAME_MAX) return FAIL;
          c = at(++p);
          if (c === COLON && at(p + 1) === CLOSE) {
            p += 2;
            break;
          }
          if (c < 0x61 || c >= 0x7a) {
            // Not a class name after all: the `[` is an ordinary member.
            className = undefined;
            break;
          }
          className += String.fromCharCode(c);
        }
        if (className === undefined) {
          p = start;
          member = OPEN;
        } else {
          const test = CLASSES[className];
          if (test === undefined) return FAIL;
          if (test(byte)) return this.#skipRest(p, negated);
          c = at(p++);
        }
      } else if (c === OPEN && at(p) === EQUALS) {
        const equal = at(p + 1);
        if (equal !== END && at(p + 2) === EQUALS && at(p + 3) === CLOSE) {
          p += 4;
          if (byte === equal) return this.#skipRest(p, negated);
          c = at(p++);
        } else {
          member = OPEN;
        }
      } else if (c === END) {
        return LITERAL;
      } else if (c === OPEN && at(p) === DOT) {
        // A collating symbol: in the C locale only a single byte, `[.x.]`.
        const start = p;
        let length = 0;
        for (;;) {
          c = at(++p);
          if (c === DOT && at(p + 1) === CLOSE) {
            p += 2;
            break;
          }
          if (c === END) return FAIL;
          length++;
        }
        if (length !== 1) return FAIL;
        const symbol = at(start + 1);
        const isRange = at(p) === DASH && at(p + 1) !== END;
        if (!isRange && byte === symbol) return this.#skipRest(p, negated);
        c = at(p++);
        const range = this.#range(c, p, symbol, fn);
        if (range.kind === "fail") return FAIL;
        if (range.kind === "match") return this.#skipRest(range.next, negated);
        p = range.next;
        c = range.c;
      } else {
        member = this.#fold(c);
      }
      if (member !== undefined) {
        const isRange = at(p) === DASH && at(p + 1) !== END && at(p + 1) !== CLOSE;
        if (!isRange && member === fn) return this.#skipRest(p, negated);
        c = at(p++);
        const range = this.#range(c, p, member, fn);
        if (range.kind === "fail") return FAIL;
        if (range.kind === "match") return this.#skipRest(range.next, negated);
        p = range.next;
        c = range.c;
      }
      if (c === CLOSE) break;
    }
    return negated ? { kind: "match", next: p } : FAIL;
  }

  /**
   * After a member `cold`, with `c` just read and `p` after it: when `c` is
   * a range's dash, the range's end is read and the byte `fn` compared;
   * otherwise nothing happens. `next` and `c` are where the set goes on.
   */
  #range(
    c: number,
    p: number,
    cold: number,
    fn: number,
  ): { kind: "fail" } | { kind: "match"; next: number } | { kind: "go"; next: number; c: number } {
    if (c !== DASH || this.#at(p) === CLOSE) return { kind: "go", next: p, c };
    let cend = this.#at(p++);
    if (cend === OPEN && this.#at(p) === DOT) {
      // A collating symbol as the end: a single byte, taken as it is.
      const start = p;
      let length = 0;
      for (;;) {
        const d = this.#at(++p);
        if (d === DOT && this.#at(p + 1) === CLOSE) {
          p += 2;
          break;
        }
        if (d === END) return { kind: "fail" };
        length++;
      }
      if (length !== 1) return { kind: "fail" };
      cend = this.#at(start + 1);
    } else {
      if (cend === BACKSLASH) cend = this.#at(p++);
      if (cend === END) return { kind: "fail" };
      cend = this.#fold(cend);
    }
    // glibc compares collation sequence values: byte values in the C locale.
    if (cold <= fn && fn <= cend) return { kind: "match", next: p };
    return { kind: "go", next: p + 1, c: this.#at(p) };
  }

  /**
   * The byte matched a member: skip the rest of the set up to its `]`
   * (glibc's `matched:` loop, quirks included).
   */
  #skipRest(p: number, negated: boolean): BracketResult {
    const at = (i: number) => this.#at(i);
    let c: number;
    while ((c = at(p++)) !== CLOSE) {
      if (c === END) return FAIL;
      if (c === BACKSLASH) {
        if (at(p) === END) return FAIL;
        p++;
      } else if (c === OPEN && at(p) === COLON) {
        const start = p;
        let count = 0;
        for (;;) {
          c = at(++p);
          if (++count === CLASS_NAME_MAX) return FAIL;
          if (c === COLON && at(p + 1) === CLOSE) break;
          if (c < 0x61 || c >= 0x7a) {
            p = start - 2;
            break;
          }
        }
        p += 2;
      } else if (c === OPEN && at(p) === EQUALS) {
        c = at(++p);
        if (c === END) return FAIL;
        c = at(++p);
        if (c !== EQUALS || at(p + 1) !== CLOSE) return FAIL;
        p += 2;
      } else if (c === OPEN && at(p) === DOT) {
        for (;;) {
          c = at(++p);
          if (c === END) return FAIL;
          if (c === DOT && at(p + 1) === CLOSE) break;
        }
        p += 2;
      }
    }
    return negated ? FAIL : { kind: "match", next: p };
  }
}

/**
 * Whether `pattern` has anything but ordinary bytes (`*`, `?`, `[`, `\`):
 * a pattern without them matches only itself.
 */
export function hasGlobChars(pattern: Uint8Array): boolean {
  return pattern.some((b) => b === STAR || b === QUESTION || b === OPEN || b === BACKSLASH);
}
