/**
 * Paths in `nfs4 shell`: a verb's words name remote files relative to the
 * shell's current directory, and the commands underneath take nfs:// URLs.
 * This file turns the one into the other, knowing for each verb which of
 * its words are paths (`chmod MODE PATH...`: the first is not; `ln -s
 * TARGET LINK`: the target is stored as typed; `find PATH... EXPR`: the
 * paths end where the expression starts) and which of its options take a
 * value (from the command's own definition, so `head -n 5 f` leaves the 5
 * alone). A word that is already an nfs:// URL is left as it is.
 * @module
 */

import { encodeComponent, formatHost, type NfsUrl } from "../lib/client/url.ts";

/** The nfs4 commands a shell line may run, with paths relative to the current directory. */
export const COMMAND_VERBS: readonly string[] = [
  "ls",
  "cat",
  "cp",
  "stat",
  "df",
  "rm",
  "rmdir",
  "mkdir",
  "mv",
  "ln",
  "chmod",
  "chown",
  "touch",
  "truncate",
  "du",
  "find",
  "head",
  "tail",
  "info",
  "probe",
];

/** An option of a verb, as commander defines it. */
export interface OptionShape {
  readonly short?: string | undefined;
  readonly long?: string | undefined;
  /** `<value>`: the value is the next word when not attached. */
  readonly required: boolean;
  /** `[value]`: the value only with `=` (or attached to a short option). */
  readonly optional: boolean;
}

/** Which words of a verb are remote paths. */
type Roles =
  | "paths" // every operand
  | "first-not-path" // chmod MODE, chown OWNER
  | "ln" // with -s the targets are stored verbatim; the last word is a path
  | "find"; // operands until the expression; -newer's argument

const ROLES: Record<string, Roles> = {
  chmod: "first-not-path",
  chown: "first-not-path",
  ln: "ln",
  find: "find",
};

/** Verbs that work on the current directory when given no path (as `ls` alone does). */
const CURRENT_DIRECTORY_BY_DEFAULT = new Set(["ls", "du", "find", "df", "info", "probe"]);

/** Options whose value is a remote path, for every verb. */
const PATH_OPTIONS = new Set([
  "--reference",
  "-r:touch",
  "-r:truncate",
  "-t:mv",
  "--target-directory",
]);

/** Absolute path `/a/b` from `cwd` and `word` (absolute or relative), `.` and `..` worked out. */
export function resolvePath(cwd: string, word: string): string {
  const parts = word.startsWith("/") ? [] : cwd.split("/").filter((c) => c !== "");
  for (const part of word.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return "/" + parts.join("/");
}

/**
 * The URL of `word` on the shell's server: `nfs://HOST:PORT/a/b`, each name
 * percent-encoded (a `%` in a name is a name's `%`), a trailing `/` kept
 * (it still means "a directory").
 */
export function urlOfWord(
  server: Pick<NfsUrl, "host" | "port">,
  cwd: string,
  word: string,
): string {
  if (word.startsWith("nfs://")) return word;
  const resolved = resolvePath(cwd, word);
  const components = resolved.split("/").filter((c) => c !== "");
  const slash = /\/\.?$/.test(word) && components.length > 0 ? "/" : "";
  return `nfs://${formatHost(server.host)}:${server.port}/${
    components.map(encodeComponent).join("/")
  }${slash}`;
}

/**
 * The words of `verb`'s command line with its remote paths made URLs.
 * `options` are the verb's and the global options (to know which take a
 * value). Everything after `--` is an operand.
 */
export function rewritePaths(
  verb: string,
  words: readonly string[],
  options: readonly OptionShape[],
  toUrl: (word: string) => string,
): string[] {
  const roles = ROLES[verb] ?? "paths";
  const byName = new Map<string, OptionShape>();
  for (const option of options) {
    if (option.short) byName.set(option.short, option);
    if (option.long) byName.set(option.long, option);
  }
  const out: string[] = [];
  const operands: number[] = [];
  let symbolic = false;
  let expression = false;
  let onlyOperands = false;
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!;
    if (onlyOperands || expression) {
      if (expression && word === "-newer" && i + 1 < words.length) {
        out.push(word, toUrl(words[++i]!));
        continue;
      }
      if (!expression) operands.push(out.length);
      out.push(word);
      continue;
    }
    if (word === "--") {
      onlyOperands = true;
      out.push(word);
      continue;
    }
    if (
      roles === "find" && (/^-[a-z]/.test(word) || word === "(" || word === "!" || word === ")")
    ) {
      // find's expression starts here (its tests look like long options).
      expression = true;
      i--;
      continue;
    }
    if (word.startsWith("--") && word.length > 2) {
      const eq = word.indexOf("=");
      const name = eq < 0 ? word : word.slice(0, eq);
      const option = byName.get(name);
      const isPath = PATH_OPTIONS.has(name) || PATH_OPTIONS.has(`${name}:${verb}`);
      if (name === "--symbolic") symbolic = true;
      if (eq >= 0) {
        out.push(isPath ? `${name}=${toUrl(word.slice(eq + 1))}` : word);
      } else if (option?.required && i + 1 < words.length) {
        out.push(word, isPath ? toUrl(words[++i]!) : words[++i]!);
      } else out.push(word);
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      // A cluster of short options; the first one that takes a value takes
      // the rest of the word, or the next word.
      out.push(word);
      for (let j = 1; j < word.length; j++) {
        const name = `-${word[j]}`;
        if (name === "-s" && roles === "ln") symbolic = true;
        const option = byName.get(name);
        if (option?.required || option?.optional) {
          if (option.required && j === word.length - 1 && i + 1 < words.length) {
            const isPath = PATH_OPTIONS.has(`${name}:${verb}`) ||
              PATH_OPTIONS.has(option.long ?? "");
            out.push(isPath ? toUrl(words[++i]!) : words[++i]!);
          }
          break;
        }
      }
      continue;
    }
    operands.push(out.length);
    out.push(word);
  }
  // Which operands are paths.
  let paths = operands;
  if (roles === "first-not-path" && !out.some((w) => w.startsWith("--reference"))) {
    paths = operands.slice(1);
  }
  if (roles === "ln" && symbolic) paths = operands.length > 1 ? operands.slice(-1) : [];
  for (const at of paths) out[at] = toUrl(out[at]!);
  if (operands.length === 0 && CURRENT_DIRECTORY_BY_DEFAULT.has(verb)) {
    // Before find's expression, after the options.
    const at = roles === "find" ? out.findIndex((w, i) => i >= 0 && /^-[a-z]|^[(!)]$/.test(w)) : -1;
    if (at >= 0) out.splice(at, 0, toUrl("."));
    else out.push(toUrl("."));
  }
  // `ln TARGET` makes the link in the current directory, as ln(1) does.
  if (roles === "ln" && operands.length === 1) out.push(toUrl("./"));
  return out;
}
