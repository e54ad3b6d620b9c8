/**
 * What `head` and `tail` share: their common options (`-c`/`-n` with the
 * last one given winning, `-q`/`-v`, `-z`), the `==> URL <==` headers
 * between files, and GNU's treatment of a directory (its header, then the
 * failure).
 * @module
 */

import { hasStatus } from "../lib/client/has_status.ts";
import type { NfsUrl } from "../lib/client/url.ts";
import type { CommandSession } from "./context.ts";
import type { CountUnit, SignedCount } from "./count_arg.ts";

/** When `==> URL <==` headers are printed: with several URLs (`auto`), never (`-q`), always (`-v`). */
export type HeaderMode = "auto" | "never" | "always";

/** The options `head` and `tail` have in common, settled. */
export interface PartOptions {
  /** Count bytes (`-c`) or lines (`-n`). */
  readonly unit: CountUnit;
  /** How many, with the sign that came before it. */
  readonly count: SignedCount;
  readonly headers: HeaderMode;
  /** The byte that ends a line: `\n`, or NUL with `-z`. */
  readonly delimiter: number;
}

/** The part of a commander command the option listeners need. */
interface OptionEvents {
  on(event: string, listener: () => void): unknown;
  setOptionValue(key: string, value: unknown): unknown;
  getOptionValue(key: string): unknown;
}

/**
 * Makes the last of `-c`/`-n` and of `-q`/`--silent`/`-v` win, as in GNU
 * head and tail: the listeners see them in command-line order and keep the
 * last in the command's own option values (reset by commander before each
 * parse). The command must have the options `--bytes`, `--lines`,
 * `--quiet`, `--silent` and `-v`.
 */
export function lastOfEachWins(cmd: OptionEvents): void {
  cmd.on("option:bytes", () => cmd.setOptionValue("unit", "bytes"));
  cmd.on("option:lines", () => cmd.setOptionValue("unit", "lines"));
  cmd.on("option:quiet", () => cmd.setOptionValue("headers", "never"));
  cmd.on("option:silent", () => cmd.setOptionValue("headers", "never"));
  cmd.on("option:v", () => cmd.setOptionValue("headers", "always"));
}

/**
 * The common options as parsed (`opts`) and ordered ({@linkcode lastOfEachWins}),
 * with `defaults` for what was not given.
 */
export function settlePartOptions(
  command: OptionEvents,
  opts: { bytes?: SignedCount; lines?: SignedCount; zeroTerminated?: boolean },
  defaults: Pick<PartOptions, "unit" | "count">,
): PartOptions {
  const unit = command.getOptionValue("unit") as CountUnit | undefined;
  const count = unit === "bytes" ? opts.bytes : unit === "lines" ? opts.lines : undefined;
  return {
    unit: unit ?? defaults.unit,
    count: count ?? defaults.count,
    headers: (command.getOptionValue("headers") as HeaderMode | undefined) ?? "auto",
    delimiter: opts.zeroTerminated ? 0 : 0x0a,
  };
}

/** Writes `==> URL <==` headers as GNU head and tail do: a blank line before all but the first. */
export class Headers {
  readonly #session: CommandSession;
  readonly #on: boolean;
  #first = true;
  /** The URL whose header was printed last. */
  last: NfsUrl | undefined;

  constructor(session: CommandSession, on: boolean) {
    this.#session = session;
    this.#on = on;
  }

  /** Whether headers are printed at all. */
  get on(): boolean {
    return this.#on;
  }

  async write(url: NfsUrl): Promise<void> {
    if (!this.#on) return;
    await this.#session.out.write(`${this.#first ? "" : "\n"}==> ${url.text} <==\n`);
    this.#first = false;
    this.last = url;
  }
}

/** Whether headers go with `count` URLs in `mode`, as GNU head and tail decide. */
export function headersWanted(mode: HeaderMode, count: number): boolean {
  return mode === "always" || (mode === "auto" && count > 1);
}

/** NFS4ERR_ISDIR: GNU head and tail open a directory and fail only when they read it. */
export function isDirectoryError(err: unknown): boolean {
  return hasStatus(err, "NFS4ERR_ISDIR");
}
