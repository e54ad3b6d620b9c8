/**
 * The questions of `rm -i`/`-I`, `mv -i` and `ln -i`: `nfs4: QUESTION ` on
 * stderr, the answer one line of stdin, a yes an answer that starts with
 * `y` or `Y` (coreutils' yesno() in the C locale); anything else, or the end
 * of input, is a no. Stdin is read only when a question is asked, a line at
 * a time, and let go when the command ends. Ctrl-C at a question ends the
 * command at once (130), as it does anywhere else.
 * @module
 */

import process from "node:process";
import type { CliContext } from "./context.ts";

/** Asks a yes/no question: prints `question`, resolves to the answer. */
export type Ask = (question: string) => Promise<boolean>;

/**
 * Lines read from stdin on demand, as getline(3) would: a terminal or not,
 * each answer is the next line; at the end of input every answer is
 * undefined. Answers are words typed, not names: decoded as UTF-8.
 */
export class StdinLines {
  // process.stdin, not Deno.stdin: the same code runs in the Bun binary.
  #reader: AsyncIterator<Uint8Array> | undefined;
  #buffer = new Uint8Array(0);
  #eof = false;
  #pending: Promise<IteratorResult<Uint8Array>> | undefined;

  /** The next line without its newline, or undefined at the end of input. */
  async read(): Promise<string | undefined> {
    for (;;) {
      const newline = this.#buffer.indexOf(10);
      if (newline >= 0) {
        const line = this.#buffer.subarray(0, newline);
        this.#buffer = this.#buffer.slice(newline + 1);
        return new TextDecoder().decode(line);
      }
      if (this.#eof) {
        if (this.#buffer.length === 0) return undefined;
        const line = new TextDecoder().decode(this.#buffer);
        this.#buffer = new Uint8Array(0);
        return line;
      }
      this.#reader ??= (process.stdin as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      this.#pending = this.#reader.next();
      const { value, done } = await this.#pending;
      this.#pending = undefined;
      if (done || value === undefined) {
        this.#eof = true;
        continue;
      }
      const joined = new Uint8Array(this.#buffer.length + value.length);
      joined.set(this.#buffer);
      joined.set(value, this.#buffer.length);
      this.#buffer = joined;
    }
  }

  /**
   * Lets go of stdin (nothing is read ahead beyond what was buffered); a
   * read still waiting (an interrupted question) rejects, unobserved.
   */
  close(): void {
    this.#pending?.catch(() => {});
    // Stop reading without closing stdin for whoever reads it next.
    if (this.#reader) process.stdin.pause();
    this.#reader = undefined;
  }
}

/**
 * Runs `work` with an {@linkcode Ask} that puts its questions on stderr and
 * reads the answers from stdin; stdin is let go afterwards. A question
 * waiting for its answer when the command is interrupted rejects with the
 * interruption.
 */
export async function withStdinAsk<T>(ctx: CliContext, work: (ask: Ask) => Promise<T>): Promise<T> {
  const lines = new StdinLines();
  const stop = ctx.interruption.signal;
  const ask: Ask = async (question) => {
    stop.throwIfAborted();
    ctx.diag.raw(`nfs4: ${question} `);
    let onAbort: (() => void) | undefined;
    const interrupted = new Promise<never>((_, reject) => {
      onAbort = () => reject(stop.reason);
      stop.addEventListener("abort", onAbort, { once: true });
    });
    try {
      // nfs4 shell answers from its own input (its line editor, or its script).
      const next = ctx.io.readAnswer ?? (() => lines.read());
      const answer = await Promise.race([next(), interrupted]);
      return answer !== undefined && /^[yY]/.test(answer);
    } finally {
      stop.removeEventListener("abort", onAbort!);
    }
  };
  try {
    return await work(ask);
  } finally {
    lines.close();
  }
}
