/**
 * `nfs4 find`'s command line: the starting URLs and the expression, parsed
 * into a tree, and the evaluation of that tree on one file. Pure: the walk,
 * the output and the deletions are the caller's (cli/find.ts), reached
 * through {@linkcode FindActions}, so all of it is unit-tested without a
 * server.
 *
 * The grammar and the meaning are GNU findutils' (4.9) for the subset
 * implemented:
 *
 * ```
 * expression := or ( "," or )*
 * or         := and ( ("-o" | "-or") and )*
 * and        := unary ( ["-a" | "-and"] unary )*
 * unary      := ("!" | "-not") unary | "(" expression ")" | primary
 * ```
 *
 * Primaries: tests `-name`, `-iname`, `-path`, `-type`, `-size`, `-mtime`,
 * `-mmin`, `-newer`, `-empty`, `-true`, `-false`; actions `-print`,
 * `-print0`, `-delete`, `-prune`, `-quit`; options (always true, wherever
 * they stand) `-maxdepth`, `-mindepth`, `-depth`. With no action other than
 * `-prune` and `-quit`, the whole expression is followed by `-print`.
 * `-delete` turns `-depth` on; `-delete` with `-prune` but without an
 * explicit `-depth` is refused, as findutils does. Every error is a
 * {@linkcode UsageError} (exit status 2) whose message says what is wrong.
 *
 * Times follow findutils to the nanosecond, from the instant the command
 * started, quirks kept: `-mtime N` is true when the age in days, rounded
 * down, is N; `-mtime +N` when the age is more than N+1 days; `-mtime -N`
 * when it is less than N days and one second; `-mmin N` when the age in
 * minutes, rounded up, is N; `-mmin +N` and `-mmin -N` more and less than N
 * minutes. `-size N[cwbkMG]` rounds sizes up to whole units (`-size -1M`
 * is true only for empty files).
 * @module
 */

import { encodeByteString } from "../lib/client/names.ts";
import type { FileKind } from "../lib/client/types.ts";
import { UsageError } from "../lib/client/url.ts";
import { compileGlob } from "./find_glob.ts";

/** How a number compares: `+N` (more), `-N` (less) or `N` (exactly). */
export type Comparison = "gt" | "lt" | "eq";

/** A node of the expression. */
export type Expr =
  | { readonly op: "and" | "or" | "comma"; readonly left: Expr; readonly right: Expr }
  | { readonly op: "not"; readonly expr: Expr }
  | Primary;

/** A test, an action or an option. */
export type Primary =
  | {
    readonly op: "name" | "iname" | "path";
    readonly pattern: string;
    readonly match: (bytes: Uint8Array) => boolean;
  }
  | { readonly op: "type"; readonly letters: string; readonly kinds: ReadonlySet<FileKind> }
  | {
    readonly op: "size";
    readonly text: string;
    readonly comparison: Comparison;
    readonly count: bigint;
    readonly unit: bigint;
  }
  | {
    readonly op: "mtime" | "mmin";
    readonly text: string;
    readonly comparison: Comparison;
    /** The reference instant, nanoseconds since the epoch. */
    readonly reference: bigint;
    /** For `eq`: how far after the reference the time may be, in nanoseconds. */
    readonly window: bigint;
  }
  | { readonly op: "newer"; readonly reference: string }
  | {
    readonly op:
      | "empty"
      | "true"
      | "false"
      | "print"
      | "print0"
      | "delete"
      | "prune"
      | "quit";
  }
  | { readonly op: "maxdepth" | "mindepth"; readonly value: number }
  | { readonly op: "depth" };

/** A parsed `nfs4 find` command line. */
export interface FindCommand {
  /** The starting points, as typed (not yet checked as URLs). */
  readonly starts: readonly string[];
  /** The expression, with the implied `-print` when it has no action. */
  readonly expr: Expr;
  /** `-maxdepth`: nothing deeper is visited. */
  readonly maxDepth: number | undefined;
  /** `-mindepth`: nothing shallower is tested or acted on. */
  readonly minDepth: number;
  /** `-depth` (or implied by `-delete`): a directory after its contents. */
  readonly depthFirst: boolean;
  /** The expression has `-delete`. */
  readonly deletes: boolean;
  /** The `-newer` references, as typed, each once. */
  readonly references: readonly string[];
  /** Warnings to print (findutils prints the same ones). */
  readonly warnings: readonly string[];
}

/** What {@linkcode parseFindArgs} needs from outside. */
export interface ParseContext {
  /** When the command started, in nanoseconds since the epoch (`-mtime`, `-mmin`). */
  readonly now: bigint;
}

const NS_PER_SECOND = 1_000_000_000n;
const DAY_SECONDS = 86400n;

/** Whether `arg` starts the expression (findutils' looks_like_expression). */
export function startsExpression(arg: string): boolean {
  if (arg === "(" || arg === ")" || arg === "!" || arg === ",") return true;
  return arg.startsWith("-") && arg.length > 1;
}

const TYPE_LETTERS: Record<string, FileKind | undefined> = {
  f: "file",
  d: "directory",
  l: "symlink",
  p: "fifo",
  s: "socket",
  b: "block",
  c: "char",
  D: undefined, // a door (Solaris): never here
};

const SIZE_UNITS: Record<string, bigint> = {
  c: 1n,
  w: 2n,
  b: 512n,
  k: 1024n,
  M: 1024n * 1024n,
  G: 1024n * 1024n * 1024n,
};

/** The actions: a primary that has one makes the implied `-print` go away. */
const ACTIONS = new Set(["print", "print0", "delete"]);

/** The primaries that take no argument. */
const NO_ARGUMENT = new Set([
  "empty",
  "true",
  "false",
  "print",
  "print0",
  "delete",
  "prune",
  "quit",
  "depth",
]);

/** The primaries that take one. */
const ONE_ARGUMENT = new Set([
  "name",
  "iname",
  "path",
  "type",
  "size",
  "mtime",
  "mmin",
  "newer",
  "maxdepth",
  "mindepth",
]);

function quote(arg: string): string {
  return `'${arg}'`;
}

/**
 * Parses `nfs4 find`'s arguments (after `find`): the starting points, then
 * the expression. Throws {@linkcode UsageError} for anything malformed.
 *
 * @example
 * ```ts
 * const cmd = parseFindArgs(["nfs://h/vfs", "-name", "*.c", "-o", "-type", "d"], { now: 0n });
 * describeExpr(cmd.expr); // "((-name *.c -o -type d) -a -print)"
 * ```
 */
export function parseFindArgs(args: readonly string[], context: ParseContext): FindCommand {
  let i = 0;
  const starts: string[] = [];
  while (i < args.length && !startsExpression(args[i]!)) starts.push(args[i++]!);
  if (starts.length === 0) {
    throw new UsageError("find: missing starting URL (nfs4 find URL... [expression])");
  }
  const parser = new Parser(args.slice(i), context);
  const parsed = parser.parse();
  let expr: Expr = parsed ?? { op: "true" };
  if (!parser.hasAction) expr = { op: "and", left: expr, right: { op: "print" } };
  if (parser.deletes && parser.prunes && !parser.depth) {
    throw new UsageError(
      "find: -delete turns on -depth, and -prune does nothing with -depth; " +
        "to carry on anyway, give -depth explicitly",
    );
  }
  return {
    starts,
    expr,
    maxDepth: parser.maxDepth,
    minDepth: parser.minDepth,
    depthFirst: parser.depth || parser.deletes,
    deletes: parser.deletes,
    references: [...new Set(parser.references)],
    warnings: parser.warnings,
  };
}

class Parser {
  #pos = 0;
  hasAction = false;
  deletes = false;
  prunes = false;
  depth = false;
  maxDepth: number | undefined;
  minDepth = 0;
  readonly references: string[] = [];
  readonly warnings: string[] = [];

  constructor(readonly tokens: readonly string[], readonly context: ParseContext) {}

  #peek(): string | undefined {
    return this.tokens[this.#pos];
  }

  parse(): Expr | undefined {
    if (this.tokens.length === 0) return undefined;
    const expr = this.#comma();
    const rest = this.#peek();
    if (rest !== undefined) {
      // Only a `)` without its `(` stops the top level early.
      throw new UsageError(`find: invalid expression: ${quote(rest)} without a matching '('`);
    }
    return expr;
  }

  #comma(): Expr {
    let left = this.#or();
    while (this.#peek() === ",") {
      this.#pos++;
      left = { op: "comma", left, right: this.#operand(",") };
    }
    return left;
  }

  #or(): Expr {
    let left = this.#and();
    while (this.#peek() === "-o" || this.#peek() === "-or") {
      const op = this.tokens[this.#pos++]!;
      const right = this.#operandOf(op, () => this.#and());
      left = { op: "or", left, right };
    }
    return left;
  }

  #and(): Expr {
    let left = this.#unary();
    for (;;) {
      const next = this.#peek();
      if (next === "-a" || next === "-and") {
        this.#pos++;
        const right = this.#operandOf(next, () => this.#unary());
        left = { op: "and", left, right };
        continue;
      }
      if (next === undefined || next === ")" || next === "," || next === "-o" || next === "-or") {
        return left;
      }
      left = { op: "and", left, right: this.#unary() };
    }
  }

  /** The operand after the binary operator `op`, which must be there. */
  #operand(op: string): Expr {
    return this.#operandOf(op, () => this.#or());
  }

  #operandOf(op: string, parse: () => Expr): Expr {
    const next = this.#peek();
    if (next === undefined || next === ")" || next === "-o" || next === "-or" || next === ",") {
      throw new UsageError(`find: invalid expression: expected an expression after ${quote(op)}`);
    }
    if (next === "-a" || next === "-and") {
      throw new UsageError(
        `find: invalid expression: ${quote(next)} directly after ${quote(op)}`,
      );
    }
    return parse();
  }

  #unary(): Expr {
    const token = this.#peek();
    if (token === undefined) {
      throw new UsageError("find: invalid expression: it ends too early");
    }
    if (token === "!" || token === "-not") {
      this.#pos++;
      const next = this.#peek();
      if (
        next === undefined || next === ")" || next === "-o" || next === "-or" || next === "," ||
        next === "-a" || next === "-and"
      ) {
        throw new UsageError(
          `find: invalid expression: expected an expression after ${quote(token)}`,
        );
      }
      return { op: "not", expr: this.#unary() };
    }
    if (token === "(") {
      this.#pos++;
      if (this.#peek() === ")") {
        throw new UsageError("find: invalid expression: empty parentheses are not allowed");
      }
      if (this.#peek() === undefined) {
        throw new UsageError("find: invalid expression: expected a ')' after '('");
      }
      const inner = this.#comma();
      if (this.#peek() !== ")") {
        throw new UsageError("find: invalid expression: expected a ')' after '('");
      }
      this.#pos++;
      return inner;
    }
    if (token === "-o" || token === "-or" || token === "-a" || token === "-and" || token === ",") {
      throw new UsageError(
        `find: invalid expression: the binary operator ${quote(token)} has nothing before it`,
      );
    }
    if (token === ")") {
      throw new UsageError("find: invalid expression: ')' without a matching '('");
    }
    this.#pos++;
    return this.#primary(token);
  }

  #primary(token: string): Expr {
    if (!token.startsWith("-") || token.length < 2) {
      throw new UsageError(
        `find: paths must precede expression: ${quote(token)} (start URLs come first)`,
      );
    }
    const name = token.slice(1);
    if (NO_ARGUMENT.has(name)) return this.#flag(name);
    if (!ONE_ARGUMENT.has(name)) throw new UsageError(`find: unknown predicate ${quote(token)}`);
    const arg = this.tokens[this.#pos];
    if (arg === undefined) throw new UsageError(`find: missing argument to ${quote(token)}`);
    this.#pos++;
    switch (name) {
      case "name":
      case "iname":
        if (arg.includes("/") && arg !== "/") {
          this.warnings.push(
            `warning: ${token} matches against names only, but the pattern ${quote(arg)} ` +
              "contains a '/', so it is never true; did you mean -path?",
          );
        }
        return {
          op: name,
          pattern: arg,
          match: compileGlob(encodeByteString(arg), { casefold: name === "iname" }),
        };
      case "path":
        return { op: "path", pattern: arg, match: compileGlob(encodeByteString(arg)) };
      case "type":
        return parseType(arg);
      case "size":
        return parseSize(arg);
      case "mtime":
      case "mmin":
        return parseTime(name, arg, this.context.now);
      case "newer":
        this.references.push(arg);
        return { op: "newer", reference: arg };
      case "maxdepth":
      case "mindepth": {
        if (!/^[0-9]+$/.test(arg) || !Number.isSafeInteger(Number(arg))) {
          throw new UsageError(
            `find: expected a non-negative decimal integer after ${token}, but got ${quote(arg)}`,
          );
        }
        const value = Number(arg);
        if (name === "maxdepth") this.maxDepth = value;
        else this.minDepth = value;
        return { op: name, value };
      }
    }
    throw new UsageError(`find: unknown predicate ${quote(token)}`);
  }

  #flag(name: string): Expr {
    if (ACTIONS.has(name)) this.hasAction = true;
    if (name === "delete") this.deletes = true;
    if (name === "prune") this.prunes = true;
    if (name === "depth") this.depth = true;
    return { op: name } as Expr;
  }
}

function parseType(arg: string): Primary {
  const kinds = new Set<FileKind>();
  const seen = new Set<string>();
  const letters = arg.split(",");
  for (const letter of letters) {
    if (letter === "") {
      throw new UsageError(`find: -type ${quote(arg)}: a comma needs a type letter on each side`);
    }
    if (!(letter in TYPE_LETTERS)) {
      throw new UsageError(
        `find: unknown argument to -type: ${quote(letter)} (expected f, d, l, p, s, b, c or D)`,
      );
    }
    if (seen.has(letter)) {
      throw new UsageError(`find: duplicate file type ${quote(letter)} in -type ${arg}`);
    }
    seen.add(letter);
    const kind = TYPE_LETTERS[letter];
    if (kind) kinds.add(kind);
  }
  return { op: "type", letters: arg, kinds };
}

function comparisonOf(text: string): { comparison: Comparison; rest: string } {
  if (text.startsWith("+")) return { comparison: "gt", rest: text.slice(1) };
  if (text.startsWith("-")) return { comparison: "lt", rest: text.slice(1) };
  return { comparison: "eq", rest: text };
}

function parseSize(arg: string): Primary {
  const { comparison, rest } = comparisonOf(arg);
  const m = /^([0-9]+)(.?)$/.exec(rest);
  if (!m) throw new UsageError(`find: invalid argument ${quote(arg)} to -size`);
  const unitLetter = m[2] === "" ? "b" : m[2]!;
  const unit = SIZE_UNITS[unitLetter];
  if (unit === undefined) {
    throw new UsageError(
      `find: invalid -size unit ${quote(unitLetter)} (expected c, w, b, k, M or G)`,
    );
  }
  return { op: "size", text: arg, comparison, count: BigInt(m[1]!), unit };
}

/**
 * `-mtime` and `-mmin` as findutils computes them (parser.c parse_time,
 * get_relative_timestamp; pred.c pred_timewindow): the reference instant is
 * the start minus N units, from an origin one day before the start for
 * `-mtime` (the end of that second, minus one second, for `-N`), the start
 * itself for `-mmin`; the comparison is inverted (`+N`: older than the
 * reference; `-N`: newer), and `N` means within one unit after it.
 */
function parseTime(name: "mtime" | "mmin", arg: string, now: bigint): Primary {
  const { comparison: typed, rest } = comparisonOf(arg);
  if (!/^([0-9]+(\.[0-9]*)?|\.[0-9]+)$/.test(rest)) {
    throw new UsageError(`find: invalid argument ${quote(arg)} to -${name}`);
  }
  const unitSeconds = name === "mtime" ? DAY_SECONDS : 60n;
  let origin = now;
  if (name === "mtime") {
    origin -= DAY_SECONDS * NS_PER_SECOND;
    if (typed === "lt") origin += (DAY_SECONDS - 1n) * NS_PER_SECOND;
  }
  // offset × seconds per unit, split into whole seconds and nanoseconds (as modf does).
  const offset = Number(rest) * Number(unitSeconds);
  if (!Number.isFinite(offset) || offset > 1e15) {
    throw new UsageError(`find: ${quote(arg)}: too far in the past for -${name}`);
  }
  const whole = Math.trunc(offset);
  const fraction = Math.trunc((offset - whole) * 1e9);
  const reference = origin - BigInt(whole) * NS_PER_SECOND - BigInt(fraction);
  const comparison: Comparison = typed === "gt" ? "lt" : typed === "lt" ? "gt" : "eq";
  return {
    op: name,
    text: arg,
    comparison,
    reference,
    window: unitSeconds * NS_PER_SECOND,
  };
}

/** The expression as text, fully parenthesized (for tests and `--debug`-like messages). */
export function describeExpr(expr: Expr): string {
  switch (expr.op) {
    case "and":
      return `(${describeExpr(expr.left)} -a ${describeExpr(expr.right)})`;
    case "or":
      return `(${describeExpr(expr.left)} -o ${describeExpr(expr.right)})`;
    case "comma":
      return `(${describeExpr(expr.left)} , ${describeExpr(expr.right)})`;
    case "not":
      return `! ${describeExpr(expr.expr)}`;
    case "name":
    case "iname":
    case "path":
      return `-${expr.op} ${expr.pattern}`;
    case "type":
      return `-type ${expr.letters}`;
    case "size":
    case "mtime":
    case "mmin":
      return `-${expr.op} ${expr.text}`;
    case "newer":
      return `-newer ${expr.reference}`;
    case "maxdepth":
    case "mindepth":
      return `-${expr.op} ${expr.value}`;
    default:
      return `-${expr.op}`;
  }
}

/** What the evaluation knows of one file. */
export interface FindFile {
  /** The name `-name` looks at, as bytes (the last component; `/` for the root). */
  readonly name: Uint8Array;
  /** The path `-path` looks at, as bytes (computed when asked). */
  path(): Uint8Array;
  readonly kind: FileKind;
  readonly size: bigint | undefined;
  /** Modification time, nanoseconds since the epoch. */
  readonly mtimeNs: bigint | undefined;
}

/** What the expression's actions do, and what the tests must ask outside. */
export interface FindActions {
  /** `-print` (`"\n"`) and `-print0` (`"\0"`). */
  print(file: FindFile, terminator: "\n" | "\0"): Promise<void>;
  /** `-delete`: true when it was deleted (a failure is reported by the callee). */
  delete(file: FindFile): Promise<boolean>;
  /** `-empty` of a directory: whether it has no entries (a failure is reported, and false). */
  isEmptyDirectory(file: FindFile): Promise<boolean>;
  /** `-prune`: do not descend into this directory. */
  prune(file: FindFile): void;
  /** The modification time of a `-newer` reference (looked up before the walk). */
  referenceTime(reference: string): bigint | undefined;
}

/** Thrown through the evaluation by `-quit`. */
class Quit {
  constructor(readonly matched: boolean) {}
}

/** The outcome of evaluating the expression on one file. */
export interface Evaluation {
  readonly matched: boolean;
  /** `-quit` was reached: the walk ends here. */
  readonly quit: boolean;
}

/** Evaluates `expr` on `file`, left to right with short-circuits, as find does. */
export async function evaluate(
  expr: Expr,
  file: FindFile,
  actions: FindActions,
): Promise<Evaluation> {
  try {
    return { matched: await evaluateNode(expr, file, actions), quit: false };
  } catch (e) {
    if (e instanceof Quit) return { matched: e.matched, quit: true };
    throw e;
  }
}

async function evaluateNode(expr: Expr, file: FindFile, actions: FindActions): Promise<boolean> {
  switch (expr.op) {
    case "and":
      return await evaluateNode(expr.left, file, actions) &&
        await evaluateNode(expr.right, file, actions);
    case "or":
      return await evaluateNode(expr.left, file, actions) ||
        await evaluateNode(expr.right, file, actions);
    case "comma":
      await evaluateNode(expr.left, file, actions);
      return await evaluateNode(expr.right, file, actions);
    case "not":
      return !await evaluateNode(expr.expr, file, actions);
    case "name":
    case "iname":
      return expr.match(file.name);
    case "path":
      return expr.match(file.path());
    case "type":
      return expr.kinds.has(file.kind);
    case "size": {
      if (file.size === undefined) return false;
      // Rounded up to whole units, as findutils' pred_size.
      const units = (file.size + expr.unit - 1n) / expr.unit;
      return compare(units, expr.count, expr.comparison);
    }
    case "mtime":
    case "mmin": {
      const t = file.mtimeNs;
      if (t === undefined) return false;
      if (expr.comparison === "gt") return t > expr.reference;
      if (expr.comparison === "lt") return t < expr.reference;
      return t > expr.reference && t - expr.reference <= expr.window;
    }
    case "newer": {
      const reference = actions.referenceTime(expr.reference);
      return file.mtimeNs !== undefined && reference !== undefined && file.mtimeNs > reference;
    }
    case "empty":
      if (file.kind === "directory") return await actions.isEmptyDirectory(file);
      return file.kind === "file" && file.size === 0n;
    case "true":
    case "maxdepth":
    case "mindepth":
    case "depth":
      return true;
    case "false":
      return false;
    case "print":
      await actions.print(file, "\n");
      return true;
    case "print0":
      await actions.print(file, "\0");
      return true;
    case "delete":
      return await actions.delete(file);
    case "prune":
      actions.prune(file);
      return true;
    case "quit":
      throw new Quit(true);
  }
}

function compare(value: bigint, against: bigint, comparison: Comparison): boolean {
  if (comparison === "gt") return value > against;
  if (comparison === "lt") return value < against;
  return value === against;
}
