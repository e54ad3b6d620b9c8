/**
 * File mode changes as `chmod(1)` and `mkdir -m` take them: octal (`755`,
 * `2775`, `00644`) and symbolic (`u+x`, `go-w`, `a=rX,u+s`, `g=u`, `=644`),
 * with the semantics of GNU coreutils 9 (gnulib's modechange.c), which this
 * follows rule for rule:
 *
 * - A symbolic clause is `[ugoa]*([-+=]([rwxXst]*|[ugo]))+`, clauses joined
 *   by commas; `[-+=][0-7]+` (an octal number after an operator, with no
 *   `ugoa` before it) is one too.
 * - Without `ugoa` the umask limits what `+`, `-` and `=` change (`+w`
 *   with umask 022 gives only the owner write permission); with them it
 *   does not.
 * - `X` is execute permission only for directories and for files some
 *   execute bit of which is already set (at the moment of that clause).
 * - `s` is the set-user-ID bit with `u`, the set-group-ID bit with `g`;
 *   `t` is the sticky bit with `o` (and `a`, or no `ugoa` at all).
 * - `g=u` (and every `[ugo]` copy) copies the permission bits the file has
 *   at that moment.
 * - Octal numbers of up to 4 digits leave a directory's set-user-ID and
 *   set-group-ID bits alone unless they set them (`chmod 755 dir` keeps
 *   `g+s`); 5 digits or more (`00755`) say every bit and clear them. On
 *   anything but a directory an octal number is the mode, exactly.
 * - `=` without `ugoa` clears everything but (on a directory) the set-id
 *   bits, then sets what it names less the umask.
 *
 * @example
 * ```ts
 * const spec = parseModeSpec("go-w,u+x");
 * applyModeSpec(spec, 0o666, false, 0o022); // 0o744
 * applyModeSpec(parseModeSpec("+w"), 0o444, false, 0o022); // 0o644
 * ```
 * @module
 */

import { UsageError } from "./url.ts";

const S_ISUID = 0o4000;
const S_ISGID = 0o2000;
const S_ISVTX = 0o1000;
const S_IRWXU = 0o700;
const S_IRWXG = 0o070;
const S_IRWXO = 0o007;
const ALL_READ = 0o444;
const ALL_WRITE = 0o222;
const ALL_EXEC = 0o111;
/** The bits chmod can change: permissions, set-id and sticky (07777). */
export const CHMOD_MODE_BITS = 0o7777;

/** One operator of a clause (`u+x` is one; `u+x-w` two). */
export interface ModeChange {
  /** `=`, `+` or `-`. */
  readonly op: "=" | "+" | "-";
  /**
   * How `value` is taken: as it is (`ordinary`), plus every execute bit
   * when the file is a directory or has one (`X`), or the bits the file
   * has in the class `value` names, copied to every class (`g=u`).
   */
  readonly flag: "ordinary" | "x-if-any-x" | "copy";
  /** The bits `ugoa` selected; 0 when none was given (then the umask applies). */
  readonly affected: number;
  /** The bits to set, clear or copy from. */
  readonly value: number;
  /** The bits the clause names explicitly (decides which set-id bits of a directory it may change). */
  readonly mentioned: number;
}

/** A parsed mode argument (`755`, `u+x,go-w`). */
export interface ModeSpec {
  /** The argument as given. */
  readonly text: string;
  /** The changes in order; octal is a single `=` change of every bit. */
  readonly changes: readonly ModeChange[];
}

const invalid = (text: string): never => {
  throw new UsageError(`invalid mode: '${text}'`);
};

const isOctalDigit = (c: string | undefined): c is string =>
  c !== undefined && c >= "0" && c <= "7";

/**
 * Parses a mode as `chmod` takes it (octal or symbolic, see the module
 * documentation); throws {@linkcode UsageError} (`invalid mode: 'TEXT'`)
 * for anything else, as GNU chmod refuses it.
 */
export function parseModeSpec(text: string): ModeSpec {
  // The whole argument in octal: `=` of every bit, as mode_compile does.
  if (isOctalDigit(text[0])) {
    let value = 0;
    let i = 0;
    while (isOctalDigit(text[i])) {
      value = value * 8 + Number(text[i]);
      if (value > CHMOD_MODE_BITS) invalid(text);
      i++;
    }
    if (i !== text.length) invalid(text);
    const mentioned = i < 5
      ? (value & (S_ISUID | S_ISGID)) | S_ISVTX | S_IRWXU | S_IRWXG | S_IRWXO
      : CHMOD_MODE_BITS;
    return {
      text,
      changes: [{ op: "=", flag: "ordinary", affected: CHMOD_MODE_BITS, value, mentioned }],
    };
  }
  const changes: ModeChange[] = [];
  let p = 0;
  for (;;) {
    // Who: [ugoa]*
    let affected = 0;
    for (;; p++) {
      const c = text[p];
      if (c === "u") affected |= S_ISUID | S_IRWXU;
      else if (c === "g") affected |= S_ISGID | S_IRWXG;
      else if (c === "o") affected |= S_ISVTX | S_IRWXO;
      else if (c === "a") affected |= CHMOD_MODE_BITS;
      else if (c === "=" || c === "+" || c === "-") break;
      else invalid(text);
    }
    // One or more operators, each with its permissions.
    do {
      const op = text[p++] as "=" | "+" | "-";
      let value = 0;
      let mentioned = 0;
      let flag: ModeChange["flag"] = "copy";
      const c = text[p];
      if (isOctalDigit(c)) {
        let octal = 0;
        while (isOctalDigit(text[p])) {
          octal = octal * 8 + Number(text[p]);
          if (octal > CHMOD_MODE_BITS) invalid(text);
          p++;
        }
        if (affected !== 0 || (p < text.length && text[p] !== ",")) invalid(text);
        affected = mentioned = CHMOD_MODE_BITS;
        value = octal;
        flag = "ordinary";
      } else if (c === "u") {
        value = S_IRWXU;
        p++;
      } else if (c === "g") {
        value = S_IRWXG;
        p++;
      } else if (c === "o") {
        value = S_IRWXO;
        p++;
      } else {
        flag = "ordinary";
        for (;; p++) {
          const perm = text[p];
          if (perm === "r") value |= ALL_READ;
          else if (perm === "w") value |= ALL_WRITE;
          else if (perm === "x") value |= ALL_EXEC;
          else if (perm === "X") flag = "x-if-any-x";
          else if (perm === "s") value |= S_ISUID | S_ISGID;
          else if (perm === "t") value |= S_ISVTX;
          else break;
        }
      }
      changes.push({
        op,
        flag,
        affected,
        value,
        mentioned: mentioned !== 0 ? mentioned : affected !== 0 ? affected & value : value,
      });
    } while (text[p] === "=" || text[p] === "+" || text[p] === "-");
    if (text[p] !== ",") break;
    p++;
  }
  if (p !== text.length) invalid(text);
  return { text, changes };
}

/**
 * The mode `spec` gives a file of mode `oldMode` (its type bits are
 * ignored), as GNU chmod computes it: `isDirectory` for `X` and for the
 * set-id bits octal numbers keep; `umask` limits changes without `ugoa`.
 * Returns the new permission, set-id and sticky bits (07777).
 */
export function applyModeSpec(
  spec: ModeSpec,
  oldMode: number,
  isDirectory: boolean,
  umask: number,
): number {
  return adjustMode(spec, oldMode, isDirectory, umask).mode;
}

/**
 * {@linkcode applyModeSpec} with the bits the spec changes or sets to a
 * value (`modeBits`: what gnulib's mode_adjust reports in `pmode_bits`,
 * which `mkdir -m` uses to know whether special bits need a chmod).
 */
export function adjustMode(
  spec: ModeSpec,
  oldMode: number,
  isDirectory: boolean,
  umask: number,
): { mode: number; modeBits: number } {
  let mode = oldMode & CHMOD_MODE_BITS;
  let modeBits = 0;
  for (const change of spec.changes) {
    const affected = change.affected;
    const omit = (isDirectory ? S_ISUID | S_ISGID : 0) & ~change.mentioned;
    let value = change.value;
    if (change.flag === "copy") {
      value &= mode;
      value |= (value & ALL_READ ? ALL_READ : 0) |
        (value & ALL_WRITE ? ALL_WRITE : 0) |
        (value & ALL_EXEC ? ALL_EXEC : 0);
    } else if (change.flag === "x-if-any-x") {
      if ((mode & ALL_EXEC) !== 0 || isDirectory) value |= ALL_EXEC;
    }
    value &= (affected !== 0 ? affected : ~umask) & ~omit;
    if (change.op === "=") {
      const preserved = (affected !== 0 ? ~affected : 0) | omit;
      modeBits |= CHMOD_MODE_BITS & ~preserved;
      mode = (mode & preserved) | value;
    } else if (change.op === "+") {
      modeBits |= value;
      mode |= value;
    } else {
      modeBits |= value;
      mode &= ~value;
    }
  }
  return { mode: mode & CHMOD_MODE_BITS, modeBits: modeBits & CHMOD_MODE_BITS };
}

/**
 * The nine permission characters of `mode` as `ls -l` shows them
 * (`rwsr-x--T`): set-id bits as `s`/`S` in the owner and group execute
 * places, the sticky bit as `t`/`T` in the others'.
 */
export function permissionString(mode: number): string {
  const triple = (shift: number, special: number, letter: string) => {
    const bits = (mode >> shift) & 7;
    const exec = (bits & 1) !== 0;
    const x = (mode & special) !== 0 ? (exec ? letter : letter.toUpperCase()) : exec ? "x" : "-";
    return `${bits & 4 ? "r" : "-"}${bits & 2 ? "w" : "-"}${x}`;
  };
  return triple(6, S_ISUID, "s") + triple(3, S_ISGID, "s") + triple(0, S_ISVTX, "t");
}

/** `mode` as chmod -v prints it: four octal digits (`0644`). */
export function octalMode(mode: number): string {
  return (mode & CHMOD_MODE_BITS).toString(8).padStart(4, "0");
}
