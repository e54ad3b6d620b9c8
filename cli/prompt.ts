/**
 * The questions of `rm -i`/`-I`, `mv -i` and `ln -i`: `nfs4: QUESTION ` on
 * stderr, the answer one line of stdin, a yes an answer that starts with
 * `y` or `Y` (coreutils' yesno() in the C locale); anything else, or the end
 * of input, is a no. Stdin is read only when a question is asked, a line at
 * a time, and let go when the command ends.
 * @module
 */

import type { CliContext } from "./context.ts";

/** Asks a yes/no question: prints `question`, resolves to the answer. */
export type Ask = (question: string) => Promise<boolean>;

/**
 * Lines read from stdin on demand, as getline(3) would: a terminal or not,
 * each answer is the next line; at the end of input every answer is
 * undefined. Answers are words typed, not names: decoded as UTF-8.
 */
export class StdinLines {
  #reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  #buffer = new Uint8Array(0);
  #eof = false;

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
      this.#reader ??= Deno.stdin.readable.getReader();
      const { value, done } = await this.#reader.read();
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

  /** Lets go of stdin (nothing is read ahead beyond what was buffered). */
  close(): void {
    this.#reader?.releaseLock();
    this.#reader = undefined;
  }
}

/**
 * Runs `work` with an {@linkcode Ask} that puts its questions on stderr and
 * reads the answers from stdin; stdin is let go afterwards.
 */
export async function withStdinAsk<T>(ctx: CliContext, work: (ask: Ask) => Promise<T>): Promise<T> {
  const lines = new StdinLines();
  const ask: Ask = async (question) => {
    ctx.diag.raw(`nfs4: ${question} `);
    const answer = await lines.read();
    return answer !== undefined && /^[yY]/.test(answer);
  };
  try {
    return await work(ask);
  } finally {
    lines.close();
  }
}
