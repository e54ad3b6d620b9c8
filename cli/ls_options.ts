/**
 * The options of `nfs4 ls`, read as coreutils `ls` reads them: in order,
 * the last of conflicting ones winning (`-l1` lists one per line, `-tS`
 * sorts by size), and then settled against the terminal and the
 * environment (`QUOTING_STYLE`, `TIME_STYLE`, `COLUMNS`) as `ls` does.
 * @module
 */

import { InvalidArgumentError } from "@commander-js/extra-typings";
import type { TimeField } from "./ls_format.ts";
import { isQuotingStyle, type NameQuoting, QUOTING_STYLES, type QuotingStyle } from "./ls_quote.ts";
import type { SortKey, SortOptions } from "./ls_sort.ts";
import { LOCALE_STYLE, parseTimeStyle, type TimeStyle } from "./ls_time.ts";

/** `-F` and friends: which type indicators follow names. */
export type IndicatorStyle = "none" | "slash" | "file-type" | "classify";

/** How `ls` was asked to list, before the terminal and environment have a say. */
export interface LsOptions {
  /** `-l` (also `-n`, `--full-time`), `-1`, `-C`; by the terminal when undefined. */
  format: "long" | "one" | "columns" | undefined;
  /** `-a` (with `.` and `..`), `-A` (without), or neither (no dotfiles). */
  show: "visible" | "almost-all" | "all";
  directory: boolean;
  recursive: boolean;
  json: boolean;
  numeric: boolean;
  human: boolean;
  inode: boolean;
  indicator: IndicatorStyle;
  /** `-t`, `-S`, `-U`, `--sort`; by name (or the `-u`/`-c` time) when undefined. */
  sort: SortKey | undefined;
  reverse: boolean;
  /** `-u`, `-c`, `--time`: the time shown and sorted by; mtime when undefined. */
  time: TimeField | undefined;
  /** `--time-style`, `--full-time`; `TIME_STYLE` or `locale` when undefined. */
  timeStyle: TimeStyle | undefined;
  /** `-b`, `-N`, `-Q`, `--quoting-style`; `QUOTING_STYLE` or by the terminal when undefined. */
  quoting: QuotingStyle | undefined;
  /** `-q` (true), `--show-control-chars` (false); by the terminal when undefined. */
  hideControl: boolean | undefined;
  /** `-w`: the line width for `-C`; 0 for no limit. */
  width: number | undefined;
}

/** The defaults: `ls` with no options. */
export function defaultLsOptions(): LsOptions {
  return {
    format: undefined,
    show: "visible",
    directory: false,
    recursive: false,
    json: false,
    numeric: false,
    human: false,
    inode: false,
    indicator: "none",
    sort: undefined,
    reverse: false,
    time: undefined,
    timeStyle: undefined,
    quoting: undefined,
    hideControl: undefined,
    width: undefined,
  };
}

function choice<T extends string>(words: Record<string, T>, what: string) {
  return (value: string): T => {
    const word = words[value];
    if (word === undefined) {
      throw new InvalidArgumentError(`Expected ${what}`);
    }
    return word;
  };
}

const parseSort = choice<SortKey>(
  { none: "none", name: "name", time: "time", size: "size" },
  "none, name, time or size",
);
const parseTime = choice<TimeField>(
  {
    atime: "atime",
    access: "atime",
    use: "atime",
    ctime: "ctime",
    status: "ctime",
    mtime: "mtime",
    modification: "mtime",
  },
  "atime (access, use), ctime (status) or mtime (modification)",
);
const parseIndicator = choice<IndicatorStyle>(
  { none: "none", slash: "slash", "file-type": "file-type", classify: "classify" },
  "none, slash, file-type or classify",
);

function parseQuoting(value: string): QuotingStyle {
  if (!isQuotingStyle(value)) {
    throw new InvalidArgumentError(`Expected one of ${QUOTING_STYLES.join(", ")}`);
  }
  return value;
}

function parseStyle(value: string): TimeStyle {
  const style = parseTimeStyle(value);
  if (style === undefined) {
    throw new InvalidArgumentError("Expected full-iso, long-iso, iso, locale or +FORMAT");
  }
  return style;
}

function parseWidth(value: string): number {
  if (!/^[0-9]+$/.test(value) || Number(value) > 1_000_000) {
    throw new InvalidArgumentError("Expected a number of columns (0 for no limit)");
  }
  return Number(value);
}

/** One option: its flags, help, value parser, and what it does to the options. */
interface Spec {
  readonly flags: string;
  readonly help: string;
  readonly parse?: (value: string) => unknown;
  readonly apply: (o: LsOptions, value: never) => void;
}

const SPECS: readonly Spec[] = [
  { flags: "-l", help: "long listing: mode, links, owner, group, size, time, name", apply: long },
  {
    flags: "-a, --all",
    help: "include names that start with '.', and . and ..",
    apply: (o) => o.show = "all",
  },
  {
    flags: "-A, --almost-all",
    help: "include names that start with '.', but not . and ..",
    apply: (o) => o.show = "almost-all",
  },
  {
    flags: "-d, --directory",
    help: "list directories themselves, not their contents",
    apply: (o) => o.directory = true,
  },
  {
    flags: "-R, --recursive",
    help: "list subdirectories recursively",
    apply: (o) => o.recursive = true,
  },
  {
    flags: "-h, --human-readable",
    help: "with -l, sizes like 1.1K 234M 2.0G (powers of 1024)",
    apply: (o) => o.human = true,
  },
  {
    flags: "-i, --inode",
    help: "print each file's fileid (inode number) first",
    apply: (o) => o.inode = true,
  },
  {
    flags: "-n, --numeric-uid-gid",
    help: "like -l, with user and group ids as numbers",
    apply: (o) => {
      long(o);
      o.numeric = true;
    },
  },
  {
    flags: "-F, --classify",
    help: "append an indicator: / directory, * executable, @ symlink, | FIFO, = socket",
    apply: (o) => o.indicator = "classify",
  },
  {
    flags: "--file-type",
    help: "like -F, without '*'",
    apply: (o) => o.indicator = "file-type",
  },
  {
    flags: "-p",
    help: "append / to directories",
    apply: (o) => o.indicator = "slash",
  },
  {
    flags: "--indicator-style <word>",
    help: "none, slash (-p), file-type (--file-type) or classify (-F)",
    parse: parseIndicator,
    apply: (o, word: IndicatorStyle) => o.indicator = word,
  },
  { flags: "-t", help: "sort by time, newest first (see -u, -c)", apply: (o) => o.sort = "time" },
  { flags: "-S", help: "sort by size, largest first", apply: (o) => o.sort = "size" },
  {
    flags: "-U",
    help: "do not sort: the server's directory order",
    apply: (o) => o.sort = "none",
  },
  {
    flags: "--sort <word>",
    help: "sort by none (-U), name, time (-t) or size (-S)",
    parse: parseSort,
    apply: (o, word: SortKey) => o.sort = word,
  },
  {
    flags: "-r, --reverse",
    help: "reverse the order of the sort",
    apply: (o) => o.reverse = true,
  },
  {
    flags: "-c",
    help: "use ctime (status change): shown with -l, sorted by with -t or without -l",
    apply: (o) => o.time = "ctime",
  },
  {
    flags: "-u",
    help: "use atime (last access): shown with -l, sorted by with -t or without -l",
    apply: (o) => o.time = "atime",
  },
  {
    flags: "--time <word>",
    help: "the time to show and sort by: atime (-u), ctime (-c) or mtime",
    parse: parseTime,
    apply: (o, word: TimeField) => o.time = word,
  },
  {
    flags: "--full-time",
    help: "like -l --time-style=full-iso",
    apply: (o) => {
      long(o);
      o.timeStyle = parseTimeStyle("full-iso");
    },
  },
  {
    flags: "--time-style <style>",
    help: "with -l: full-iso, long-iso, iso, locale, or +FORMAT (as date(1))",
    parse: parseStyle,
    apply: (o, style: TimeStyle) => o.timeStyle = style,
  },
  {
    flags: "-b, --escape",
    help: "C-style escapes for non-printable characters (--quoting-style=escape)",
    apply: (o) => o.quoting = "escape",
  },
  {
    flags: "-N, --literal",
    help: "names as they are (--quoting-style=literal)",
    apply: (o) => o.quoting = "literal",
  },
  {
    flags: "-Q, --quote-name",
    help: "names in double quotes, with C escapes (--quoting-style=c)",
    apply: (o) => o.quoting = "c",
  },
  {
    flags: "--quoting-style <word>",
    help: `how to write names: ${QUOTING_STYLES.join(", ")}`,
    parse: parseQuoting,
    apply: (o, style: QuotingStyle) => o.quoting = style,
  },
  {
    flags: "-q, --hide-control-chars",
    help: "print ? for non-printable characters (the default on a terminal)",
    apply: (o) => o.hideControl = true,
  },
  {
    flags: "--show-control-chars",
    help: "print non-printable characters as they are",
    apply: (o) => o.hideControl = false,
  },
  {
    flags: "-1",
    help: "one entry per line, even on a terminal",
    apply: (o) => o.format = "one",
  },
  {
    flags: "-C",
    help: "entries in columns, even when not on a terminal",
    apply: (o) => o.format = "columns",
  },
  {
    flags: "-w, --width <cols>",
    help: "line width for columns (0: no limit)",
    parse: parseWidth,
    apply: (o, width: number) => o.width = width,
  },
  {
    flags: "--json",
    help: "one JSON object per entry per line (see below)",
    apply: (o) => o.json = true,
  },
];

function long(o: LsOptions): void {
  o.format = "long";
}

/** The part of a commander command the options need. */
interface OptionHost {
  option(flags: string, description: string, parse?: (value: string) => unknown): unknown;
  on(event: string, listener: (value: string) => void): unknown;
}

/**
 * Adds `ls`'s options to `cmd` and returns a function that gives the
 * options as parsed, each applied in the order it was given.
 */
export function addLsOptions(cmd: OptionHost): () => LsOptions {
  const given: [Spec, string][] = [];
  for (const spec of SPECS) {
    if (spec.parse) cmd.option(spec.flags, spec.help, spec.parse);
    else cmd.option(spec.flags, spec.help);
    const name = /--([\w-]+)/.exec(spec.flags)?.[1] ?? spec.flags.slice(1, 2);
    // Commander validates the value in its own listener, added first.
    cmd.on(`option:${name}`, (value) => given.push([spec, value]));
  }
  return () => {
    const options = defaultLsOptions();
    for (const [spec, value] of given) {
      (spec.apply as (o: LsOptions, value: unknown) => void)(
        options,
        spec.parse ? spec.parse(value) : value,
      );
    }
    return options;
  };
}

/** What the terminal and the environment tell `ls`. */
export interface LsSurroundings {
  readonly isTTY: boolean;
  /** The terminal's width, when stdout is one that knows it. */
  readonly columns: number | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** The settled options of one run. */
export interface LsSettings {
  readonly format: "long" | "one" | "columns";
  readonly show: LsOptions["show"];
  readonly directory: boolean;
  readonly recursive: boolean;
  readonly json: boolean;
  readonly numeric: boolean;
  readonly human: boolean;
  readonly inode: boolean;
  readonly indicator: IndicatorStyle;
  readonly sort: SortOptions;
  readonly timeStyle: TimeStyle;
  readonly quoting: NameQuoting;
  /** Unquoted names get a leading space when others in the listing are quoted. */
  readonly alignQuotes: boolean;
  /** The line width for columns; 0 for no limit. */
  readonly width: number;
  /** A symlink named on the command line is listed as the directory it points to. */
  readonly followOperandLinks: boolean;
}

/**
 * Settles `options` against the terminal and environment as coreutils does:
 * on a terminal, columns, `shell-escape` quoting and `?` for control
 * characters; elsewhere one name per line, as it is.
 */
export function settleLsOptions(options: LsOptions, around: LsSurroundings): LsSettings {
  const { isTTY, env } = around;
  const format = options.format ?? (isTTY ? "columns" : "one");
  const envQuoting = env.QUOTING_STYLE;
  const style = options.quoting ??
    (envQuoting !== undefined && isQuotingStyle(envQuoting) ? envQuoting : undefined) ??
    (isTTY ? "shell-escape" : "literal");
  const quoteThese = (style === "escape" ? " " : "") +
    (options.indicator === "classify" ? "=>@|" : options.indicator === "file-type" ? "*=>@|" : "");
  const width = options.width ?? around.columns ?? columnsFromEnv(env.COLUMNS) ?? 80;
  const time = options.time ?? "mtime";
  const envTimeStyle = env.TIME_STYLE !== undefined ? parseTimeStyle(env.TIME_STYLE) : undefined;
  return {
    format,
    show: options.show,
    directory: options.directory,
    recursive: options.recursive,
    json: options.json,
    numeric: options.numeric,
    human: options.human,
    inode: options.inode,
    indicator: options.indicator,
    sort: {
      key: options.sort ??
        (format !== "long" && options.time !== undefined && options.time !== "mtime"
          ? "time"
          : "name"),
      reverse: options.reverse,
      time,
    },
    timeStyle: options.timeStyle ?? envTimeStyle ?? LOCALE_STYLE,
    quoting: {
      style,
      quoteThese: quoteThese === "" ? undefined : quoteThese,
      hideControl: options.hideControl ?? isTTY,
    },
    alignQuotes: (format === "long" || (format === "columns" && width > 0)) &&
      (style === "shell" || style === "shell-escape"),
    width,
    followOperandLinks: !options.directory && options.indicator !== "classify" &&
      format !== "long" && !options.json,
  };
}

function columnsFromEnv(value: string | undefined): number | undefined {
  if (value === undefined || !/^[0-9]+$/.test(value)) return undefined;
  return Number(value);
}
