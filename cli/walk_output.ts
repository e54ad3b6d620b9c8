/**
 * What the commands that walk a tree and print about it share (`du`,
 * `find`, `chmod -R`, `chown -R`): the URL of each entry, the URL as typed
 * followed by each name percent-encoded (so every line names exactly that
 * file and reads back as it), and output gathered into chunks instead of
 * one write per line.
 * @module
 */

import { joinUrl, type NfsUrl } from "../lib/client/url.ts";
import type { Output } from "./output.ts";

/** The URL of the entry `names` below `url` (the URL itself for none). */
export function urlBelow(url: NfsUrl, names: readonly string[]): NfsUrl {
  return names.reduce((at, name) => joinUrl(at, name), url);
}

/** A chunk is written once it holds this many characters... */
const FLUSH_CHARS = 64 * 1024;
/** ...or this long after the last write, so a slow walk still shows its lines. */
const FLUSH_MS = 100;

/**
 * Text for stdout gathered and written in chunks. Flush it before writing
 * anything to stderr, so that messages stay in order with the lines.
 */
export class LineBatch {
  readonly #out: Output;
  #parts: string[] = [];
  #size = 0;
  #last = performance.now();

  constructor(out: Output) {
    this.#out = out;
  }

  /** Adds `text`; writes the batch when it is large or old enough. */
  async add(text: string): Promise<void> {
    this.#parts.push(text);
    this.#size += text.length;
    if (this.#size >= FLUSH_CHARS || performance.now() - this.#last >= FLUSH_MS) {
      await this.flush();
    }
  }

  /** Writes what was gathered (a closed stdout is thrown). */
  async flush(): Promise<void> {
    this.#last = performance.now();
    if (this.#parts.length === 0) return;
    const text = this.#parts.join("");
    this.#parts = [];
    this.#size = 0;
    await this.#out.write(text);
  }
}
