/**
 * Paths in `nfs4 shell`: a verb's words name remote files relative to the
 * shell's current directory, and the commands underneath take nfs:// URLs.
 * This file turns the one into the other, knowing for each verb which of
 * its words are paths (`chmod MODE PATH...`: the first is not; `ln -s
 * TARGET LINK`: the target is stored as typed; `find PATH... EXPR`: the
 * paths end where the expression starts) and which of its options take a
 * value (from the command's own definition, so `head -n 5 f` leaves the 5
 * alone), read as commander reads them (`-sft DIR`, `-tDIR`,
 * `--target-directory=DIR`). A word that is already an nfs:// URL is left
 * as it is.
 * @module
 */

import { namesOfPath, pathOfNames } from "../lib/client/names.ts";
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
  | "ln" // with -s the targets are stored verbatim; the link name or -t DIR is a path
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
  "-t:ln",
  "--target-directory",
]);

/** How `ln` links (cli/ln.ts): what its operands are depends on these. */
const LN_FLAGS: Record<string, "symbolic" | "target-directory" | "no-target-directory"> = {
  "-s": "symbolic",
  "--symbolic": "symbolic",
  "-t": "target-directory",
  "--target-directory": "target-directory",
  "-T": "no-target-directory",
  "--no-target-directory": "no-target-directory",
};

/**
 * An empty word where a path goes: it names no file (coreutils says "No
 * such file or directory"), never the current directory, which `rm -r ''`
 * would otherwise remove.
 */
export class EmptyPathError extends Error {
  constructor() {
    super("No such file or directory");
    this.name = "EmptyPathError";
  }
}

/** What each verb says it could not do with a path, as coreutils words it. */
const CANNOT: Readonly<Record<string, string>> = {
  rm: "cannot remove",
  rmdir: "failed to remove",
  mkdir: "cannot create directory",
  touch: "cannot touch",
  truncate: "cannot open",
  mv: "cannot stat",
  cp: "cannot stat",
  get: "cannot stat",
  put: "cannot stat",
  stat: "cannot stat",
  ls: "cannot access",
  du: "cannot access",
  chmod: "cannot access",
  chown: "cannot access",
  ln: "failed to access",
};

/** The one-line error of `verb` given an empty path: `rm: cannot remove '': No such file or directory`. */
export function emptyPathMessage(verb: string): string {
  const cannot = CANNOT[verb];
  return `${verb}: ${cannot ? `${cannot} ` : ""}'': No such file or directory`;
}

/**
 * Absolute path `/a/b` from `cwd` and `word` (absolute or relative), `.` and
 * `..` worked out: a client path (lib/client/names.ts). In a typed word
 * every `/` separates names, and a `%` is a name's own `%`: a name that
 * holds a `/` is reached only through an nfs:// URL word, which says it
 * `%2F` (or from a current directory `cd` reached that way, which keeps
 * it one name). An empty word throws {@linkcode EmptyPathError}.
 */
export function resolvePath(cwd: string, word: string): string {
  if (word === "") throw new EmptyPathError();
  const parts = word.startsWith("/") ? [] : namesOfPath(cwd);
  // (A typed word holds no U+DC2F; a client path given as a word, such as
  // the current directory, keeps its names whole.)
  for (const part of namesOfPath(word)) {
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return pathOfNames(parts);
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
  options: { readonly keepLastDot?: boolean } = {},
): string {
  if (word.startsWith("nfs://")) return word;
  if (options.keepLastDot) {
    // `rm -r .`, `rmdir sub/..`: the `.` or `..` the word ends in stays in
    // the URL, so the command refuses it as coreutils does, where the
    // worked-out path named the directory itself (or its parent).
    const parts = word.split("/");
    while (parts.length > 1 && parts.at(-1) === "") parts.pop();
    const last = parts.at(-1);
    if (last === "." || last === "..") {
      const base = urlOfWord(
        server,
        cwd,
        parts.slice(0, -1).join("/") || (word.startsWith("/") ? "/" : "."),
      );
      return `${base.replace(/\/+$/, "")}/${last}`;
    }
  }
  const resolved = resolvePath(cwd, word);
  const components = namesOfPath(resolved);
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
  // ln's -s, -t DIR and -T, by their short or long names.
  const ln = new Set<string>();
  const noteLn = (name: string) => {
    const flag = roles === "ln" ? LN_FLAGS[name] : undefined;
    if (flag) ln.add(flag);
  };
  const isPathOption = (name: string, option: OptionShape | undefined) =>
    PATH_OPTIONS.has(name) || PATH_OPTIONS.has(`${name}:${verb}`) ||
    PATH_OPTIONS.has(option?.long ?? "");
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
      const isPath = isPathOption(name, option);
      noteLn(name);
      if (eq >= 0) {
        out.push(isPath ? `${name}=${toUrl(word.slice(eq + 1))}` : word);
      } else if (option?.required && i + 1 < words.length) {
        out.push(word, isPath ? toUrl(words[++i]!) : words[++i]!);
      } else out.push(word);
      continue;
    }
    if (word.startsWith("-") && word.length > 1) {
      // A cluster of short options, as commander reads it: the first one
      // that takes a value takes the rest of the word (`-tDIR`, `-sftDIR`),
      // or the next word when it ends the cluster (`-sft DIR`).
      let cluster = word;
      let value: string | undefined;
      for (let j = 1; j < word.length; j++) {
        const name = `-${word[j]}`;
        noteLn(name);
        const option = byName.get(name);
        if (option?.required || option?.optional) {
          const isPath = isPathOption(name, option);
          if (j < word.length - 1) {
            if (isPath) cluster = word.slice(0, j + 1) + toUrl(word.slice(j + 1));
          } else if (option.required && i + 1 < words.length) {
            value = isPath ? toUrl(words[++i]!) : words[++i]!;
          }
          break;
        }
      }
      out.push(cluster);
      if (value !== undefined) out.push(value);
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
  if (roles === "ln" && ln.has("symbolic")) {
    // Targets are texts; the link name is a path, unless -t DIR names where they go.
    paths = ln.has("target-directory") || operands.length < 2 ? [] : operands.slice(-1);
  }
  for (const at of paths) out[at] = toUrl(out[at]!);
  if (operands.length === 0 && CURRENT_DIRECTORY_BY_DEFAULT.has(verb)) {
    // Before find's expression, after the options.
    const at = roles === "find" ? out.findIndex((w, i) => i >= 0 && /^-[a-z]|^[(!)]$/.test(w)) : -1;
    if (at >= 0) out.splice(at, 0, toUrl("."));
    else out.push(toUrl("."));
  }
  // `ln TARGET` makes the link in the current directory, as ln(1) does
  // (not with -t DIR, which says where; nor with -T, which wants a name).
  if (
    roles === "ln" && operands.length === 1 && !ln.has("target-directory") &&
    !ln.has("no-target-directory")
  ) {
    out.push(toUrl("./"));
  }
  return out;
}
