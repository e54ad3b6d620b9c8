/**
 * The words of an `nfs4 shell` line, split as POSIX sh splits them (XCU
 * §2.2 quoting, §2.3 token recognition), without expansions: `'...'` is
 * literal, `"..."` keeps spaces and takes `\` before `"`, `\`, `$` and
 * `` ` ``, a backslash outside quotes takes the next character as it is,
 * `;` separates commands, and `#` at the start of a word begins a comment.
 * Nothing else is special: names are what they say (`*` is not a glob).
 *
 * @example
 * ```ts
 * splitCommands(`cd 'my dir'; put "a b" # upload`);
 * // [["cd", "my dir"], ["put", "a b"]]
 * ```
 * @module
 */

import { UsageError } from "../lib/client/url.ts";

/** A word and where it starts and ends in the line (for completion). */
export interface Word {
  readonly text: string;
  readonly start: number;
  readonly end: number;
}

/** The commands of `line`, each a list of words; empty commands are dropped. */
export function splitCommands(line: string): string[][] {
  const { commands, open } = scan(line);
  if (open) throw new UsageError(`unterminated ${open === "'" ? "single" : "double"} quote`);
  return commands.map((words) => words.map((w) => w.text)).filter((c) => c.length > 0);
}

/**
 * Whether `line` ends in a backslash outside quotes and comments, which
 * joins it to the next line (XCU §2.2.1): `rm -r \` then `old_build` is
 * `rm -r old_build`.
 */
export function continuesOnNextLine(line: string): boolean {
  return scan(line).continued;
}

/**
 * Joins each line that ends in a backslash to the next, as sh reads a
 * script; a backslash on the last line escapes nothing and is dropped.
 */
export async function* joinContinuedLines(
  lines: AsyncIterable<string> | Iterable<string>,
): AsyncIterable<string> {
  let pending: string | undefined;
  for await (const line of lines) {
    const joined = pending === undefined ? line : pending + line;
    if (continuesOnNextLine(joined)) pending = joined.slice(0, -1);
    else {
      pending = undefined;
      yield joined;
    }
  }
  if (pending !== undefined) yield pending;
}

/**
 * The word at the end of a line being typed, with how it was typed so far:
 * what Tab completion must go on in (bash goes on in the quoting the user
 * began: `"my fi` becomes `"my file" `, `my\ fi` becomes `my\ file `).
 */
export interface TypedWord extends Word {
  /** The quote left open at the end of the line. */
  readonly open?: "'" | '"' | undefined;
  /** Typed with a quote or a backslash (not as plain text). */
  readonly quoted?: boolean;
  /** What was typed of it, without a backslash that ends the line and escapes nothing yet. */
  readonly typed?: string;
}

/**
 * The words of the last command of `line` as typed so far, for Tab
 * completion: an open quote is allowed, and a line that ends in a space
 * has an empty last word. The last word says how it was typed.
 */
export function wordsBeingTyped(line: string): TypedWord[] {
  const { commands, open, trailingBreak, continued, lastQuoted } = scan(line);
  const last: TypedWord[] = [...(commands.at(-1) ?? [])];
  if ((!open && trailingBreak) || last.length === 0) {
    last.push({ text: "", start: line.length, end: line.length });
  }
  const word = last.at(-1)!;
  const typed = line.slice(word.start, continued ? -1 : undefined);
  last[last.length - 1] = { ...word, open, quoted: word.text !== "" && lastQuoted, typed };
  return last;
}

/**
 * `text` quoted so that {@linkcode splitCommands} gives it back as one
 * word: as it is when nothing in it is special, else in single quotes.
 */
export function quoteWord(text: string): string {
  if (text !== "" && PLAIN.test(text)) return text;
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** Text that needs no quoting. */
const PLAIN = /^[A-Za-z0-9_@%+=:,./~^-]+$/;

/**
 * The word `word` completed to `text` (which begins with `word.text`), as
 * the line is to hold it: typed as it was so far and gone on in the same
 * quoting, as bash completes. A word typed plainly is quoted whole instead
 * ({@linkcode quoteWord}: `'my file'`). `end` (a file, the only match)
 * closes an open quote and ends the word with a space; otherwise the word
 * stays open for more (a directory, `dir one/`, or one of several).
 */
export function completeWord(word: TypedWord, text: string, end: boolean): string {
  const rest = text.slice(word.text.length);
  const typed = word.typed ?? word.text;
  if (word.open === '"') {
    // Inside double quotes `"`, `\`, `$` and `` ` `` take a backslash (XCU §2.2.3).
    return typed + rest.replace(/["\\$`]/g, "\\$&") + (end ? '" ' : "");
  }
  if (word.open === "'") {
    // Nothing is special inside single quotes but the quote itself (XCU §2.2.2).
    return typed + rest.replace(/'/g, `'\\''`) + (end ? "' " : "");
  }
  if (!word.quoted) return quoteWord(text) + (end ? " " : "");
  // Outside quotes a backslash keeps each special character as it is (XCU §2.2.1).
  const escaped = [...rest].map((c) => PLAIN.test(c) ? c : `\\${c}`).join("");
  return typed + escaped + (end ? " " : "");
}

function scan(line: string): {
  commands: Word[][];
  open: "'" | '"' | undefined;
  trailingBreak: boolean;
  /** The line ends in a backslash outside quotes: it goes on on the next line. */
  continued: boolean;
  /** The last word holds a quote or a backslash. */
  lastQuoted: boolean;
} {
  const commands: Word[][] = [[]];
  let word: string | undefined;
  let start = 0;
  let quote: "'" | '"' | undefined;
  let continued = false;
  let quoted = false;
  const finish = (end: number) => {
    if (word !== undefined) commands.at(-1)!.push({ text: word, start, end });
    word = undefined;
  };
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word = (word ?? "") + ch;
      continue;
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === "\\" && line[i + 1] === "\n") i++;
      else if (ch === "\\" && i + 1 < line.length && `"\\$\``.includes(line[i + 1]!)) {
        word = (word ?? "") + line[++i]!;
      } else word = (word ?? "") + ch;
      continue;
    }
    if (ch === " " || ch === "\t" || ch === "\n" || ch === "\r") {
      finish(i);
      if (ch === "\n") commands.push([]);
      continue;
    }
    if (ch === ";") {
      finish(i);
      commands.push([]);
      continue;
    }
    if (ch === "\\" && (i + 1 === line.length || line[i + 1] === "\n")) {
      // A backslash-newline joins lines (XCU §2.2.1) and a backslash that
      // ends the input escapes nothing: neither starts a word, so neither
      // makes an empty one (`rm -r \` alone must not name the current directory).
      if (i + 1 === line.length) continued = true;
      i++;
      continue;
    }
    if (ch === "#" && word === undefined) {
      // A comment runs to the end of the line.
      const newline = line.indexOf("\n", i);
      if (newline < 0) break;
      i = newline - 1;
      continue;
    }
    if (word === undefined) {
      word = "";
      start = i;
      quoted = false;
    }
    if (ch === "'" || ch === '"') quote = ch;
    else if (ch === "\\") word += line[++i]!;
    else word += ch;
    if (ch === "'" || ch === '"' || ch === "\\") quoted = true;
  }
  const trailingBreak = word === undefined;
  if (quote === undefined) finish(line.length);
  else if (word !== undefined) commands.at(-1)!.push({ text: word, start, end: line.length });
  return { commands, open: quote, trailingBreak, continued, lastQuoted: quoted };
}
