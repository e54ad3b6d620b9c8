/**
 * The line editor of `nfs4 shell` on a terminal: `node:readline`, which
 * gives line editing (Emacs keys), history with Up/Down and Ctrl-R-free
 * recall, asynchronous Tab completion, and Ctrl-C/Ctrl-D as events, under
 * Deno, Node, Bun and in the single binary, with no dependency. (The npm
 * editors we looked at wrap the same module or need a native build.)
 *
 * What it adds: history kept in `$XDG_STATE_HOME/nfs4/history` (default
 * `~/.local/state/nfs4/history`, the last {@linkcode HISTORY_SIZE} lines),
 * lines typed while a verb runs kept for after it (type-ahead), and
 * {@linkcode LineEditor.printAbove}: a message printed above the prompt
 * without disturbing the half-typed line, which is drawn again after it.
 * @module
 */

import * as fs from "node:fs";
import * as path from "node:path";
import process from "node:process";
import type * as readline from "node:readline";
import { builtin } from "../lib/os/builtins.ts";
import { stoppableByJobControl } from "../lib/os/foreground.ts";

/** Lines of history kept. */
export const HISTORY_SIZE = 1000;

/** The history file: `$XDG_STATE_HOME/nfs4/history`, else `~/.local/state/nfs4/history`. */
export function historyFile(env: Readonly<Record<string, string | undefined>>): string | undefined {
  const state = env.XDG_STATE_HOME ||
    (env.HOME ? path.join(env.HOME, ".local", "state") : undefined);
  return state ? path.join(state, "nfs4", "history") : undefined;
}

/** Completes `line`: the candidates and the text they replace at its end. */
export type Completer = (line: string) => Promise<[string[], string]>;

/** A terminal line editor with history, completion and asynchronous messages. */
export class LineEditor {
  readonly #rl: readline.Interface;
  readonly #output: NodeJS.WritableStream;
  readonly #historyFile: string | undefined;
  readonly #lines: string[] = [];
  #waiting: ((line: string | undefined) => void) | undefined;
  readonly #input: NodeJS.ReadableStream;
  readonly #inputFailed = () => this.#ended(true);
  readonly #inputEnded = () => {
    this.#hungUp = true;
  };
  #closed = false;
  #prompting = false;
  #hungUp = false;

  constructor(options: {
    input: NodeJS.ReadableStream;
    output: NodeJS.WritableStream;
    completer: Completer;
    historyFile: string | undefined;
    onInterrupt: () => void;
  }) {
    this.#output = options.output;
    this.#historyFile = options.historyFile;
    this.#rl = builtin("node:readline").createInterface({
      input: options.input,
      output: options.output,
      terminal: true,
      history: this.#loadHistory(),
      historySize: HISTORY_SIZE,
      removeHistoryDuplicates: true,
      completer: (
        line: string,
        callback: (err: Error | null, result: [string[], string]) => void,
      ) => {
        options.completer(line).then(
          (result) => callback(null, result),
          () => callback(null, [[], line]),
        );
      },
    });
    this.#rl.on("line", (line) => {
      this.#prompting = false;
      this.#remember(line);
      const waiting = this.#waiting;
      this.#waiting = undefined;
      if (waiting) waiting(line);
      else this.#lines.push(line);
    });
    this.#rl.on("SIGINT", () => options.onInterrupt());
    this.#rl.on("close", () => this.#ended());
    // The terminal went away (the window closed: reads and the raw-mode
    // change fail with EIO). readline re-emits the failure as 'error', which
    // nobody listening would make uncaught (the single binary then neither
    // ends nor releases): it is the end of input, as Ctrl-D is.
    this.#rl.on("error", () => this.#ended(true));
    this.#input = options.input;
    this.#input.on("error", this.#inputFailed);
    // A terminal in raw mode never ends (Ctrl-D is a key, readline's close):
    // its end is the hang-up (a read of a hung-up tty returns 0). Told
    // before readline's own 'end' listener closes the interface.
    this.#input.prependListener("end", this.#inputEnded);
    // Ctrl-Z is ours, not readline's: readline's own pauses the input at
    // SIGCONT for the application to resume (the shell read nothing after
    // `fg`) and draws the prompt even while a verb runs.
    this.#rl.on("SIGTSTP", () => this.#suspend());
    process.on("SIGCONT", this.#continued);
  }

  /**
   * Ctrl-Z (a key: the terminal is raw, ISIG off): the terminal is given
   * back as it was (cooked, echo), and the process stops as at any Ctrl-Z
   * (SIGTSTP's default action, sent to itself, as readline and bash do).
   * Without a job-control shell to stop it (an orphaned process group:
   * `ssh -t host nfs4 shell`, `exec nfs4 shell`) the kernel would discard
   * that SIGTSTP and the shell would run on with the terminal cooked, each
   * key echoed twice: Ctrl-Z then does nothing, as in bash without job
   * control.
   */
  #suspend(): void {
    if (!stoppableByJobControl()) return;
    this.#setRaw(false);
    try {
      process.kill(process.pid, "SIGTSTP");
    } catch {
      // No job control here: the shell goes on, and SIGCONT (if any) restores.
    }
  }

  /**
   * Running again (`fg`, `bg`, a SIGCONT from kill): the terminal raw again
   * for the editor, the input read again, and the prompt with what was
   * typed drawn again only if it was showing: a verb that was running goes
   * on writing its output, no prompt drawn into it.
   */
  readonly #continued = () => {
    if (this.#closed) return;
    this.#setRaw(true);
    if (this.#prompting) this.#rl.prompt(true);
    else this.#rl.resume();
  };

  /** Raw mode on or off; a terminal gone (EIO) is left as it is. */
  #setRaw(raw: boolean): void {
    try {
      (this.#input as { setRawMode?: (raw: boolean) => void }).setRawMode?.(raw);
    } catch {
      // The end of input follows (#ended), from the failed read.
    }
  }

  /** No more lines: Ctrl-D, close(), or (`hungUp`) the terminal gone. */
  #ended(hungUp = false): void {
    if (hungUp) this.#hungUp = true;
    this.#closed = true;
    this.#prompting = false;
    process.off("SIGCONT", this.#continued);
    this.#input.off("end", this.#inputEnded);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.(undefined);
  }

  /** Shows `prompt` and resolves with the next line; undefined at Ctrl-D (end of input). */
  read(prompt: string): Promise<string | undefined> {
    const typed = this.#lines.shift();
    if (typed !== undefined) return Promise.resolve(typed);
    if (this.#closed) return Promise.resolve(undefined);
    this.#rl.setPrompt(prompt);
    this.#prompting = true;
    this.#rl.prompt();
    return new Promise((resolve) => (this.#waiting = resolve));
  }

  /** Whether the input ended because the terminal went away (a read failed: EIO), not at Ctrl-D. */
  get hungUp(): boolean {
    return this.#hungUp;
  }

  /** Whether the prompt is showing (the user is typing a line). */
  get prompting(): boolean {
    return this.#prompting;
  }

  /** Drops what was typed so far on the prompt line and shows a fresh prompt (Ctrl-C at the prompt). */
  discardLine(prompt: string): void {
    this.#output.write("^C\n");
    // readline has no public way to clear its buffer: write over it.
    (this.#rl as unknown as { line: string; cursor: number }).line = "";
    (this.#rl as unknown as { line: string; cursor: number }).cursor = 0;
    this.#rl.setPrompt(prompt);
    if (this.#prompting) this.#rl.prompt();
  }

  /**
   * Forgets what was typed ahead while a verb ran (whole lines not yet read,
   * and the line being typed): Ctrl-C flushes it as a terminal's does.
   */
  discardTypedAhead(): void {
    this.#lines.length = 0;
    (this.#rl as unknown as { line: string; cursor: number }).line = "";
    (this.#rl as unknown as { line: string; cursor: number }).cursor = 0;
  }

  /**
   * Prints `text` (whole lines) above the prompt: the prompt line is
   * cleared, the text written, and the prompt with what was typed drawn
   * again, the cursor where it was. Without a prompt, just writes.
   */
  printAbove(text: string, prompt?: string): void {
    if (!this.#prompting) {
      this.#output.write(text);
      return;
    }
    builtin("node:readline").clearLine(this.#output, 0);
    builtin("node:readline").cursorTo(this.#output, 0);
    this.#output.write(text);
    if (prompt !== undefined) this.#rl.setPrompt(prompt);
    this.#rl.prompt(true);
  }

  /** Ends the editor, the terminal back to cooked; never throws (a terminal gone fails raw mode off). */
  close(): void {
    if (this.#closed) return;
    try {
      this.#rl.close();
    } catch {
      // setRawMode(false) failed (EIO): the terminal is gone already.
    }
    this.#ended();
  }

  #loadHistory(): string[] {
    if (!this.#historyFile) return [];
    try {
      const lines = fs.readFileSync(this.#historyFile, "utf8").split("\n").filter((l) => l !== "");
      // readline wants the newest first.
      return lines.slice(-HISTORY_SIZE).reverse();
    } catch {
      return [];
    }
  }

  #remember(line: string): void {
    if (!this.#historyFile || line.trim() === "") return;
    try {
      fs.mkdirSync(path.dirname(this.#historyFile), { recursive: true, mode: 0o700 });
      fs.appendFileSync(this.#historyFile, line.replace(/\n/g, " ") + "\n", { mode: 0o600 });
    } catch {
      // History is a convenience: a read-only home must not stop the shell.
    }
  }
}

/** Whether `stream` is a terminal. */
export function isTerminal(stream: unknown): boolean {
  return (stream as { isTTY?: boolean } | undefined)?.isTTY === true;
}

/** The process's stdin, for the shell. */
export function processStdin(): NodeJS.ReadableStream {
  return process.stdin;
}
