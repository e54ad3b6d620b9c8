/**
 * Pipelined READs of one NFS file, handed on in order.
 * @module
 */

import type { OpenFile } from "../api.ts";

/**
 * Streams `file` from the start with up to `depth` READs of `rsize` in
 * flight, in order. Past the known size one READ at a time confirms EOF; a
 * short READ (less than asked, not at EOF) drops the READs issued past it
 * and continues where its data ended. Memory: at most `depth` replies.
 */
export async function* pipelinedRead(
  file: Pick<OpenFile, "read">,
  size: bigint | undefined,
  rsize: number,
  depth: number,
): AsyncGenerator<Uint8Array> {
  let next = 0n;
  const inflight: {
    offset: bigint;
    count: number;
    result: Promise<{ data: Uint8Array; eof: boolean }>;
  }[] = [];
  const issue = () => {
    const result = file.read(next, rsize);
    result.catch(() => undefined); // observed when awaited
    inflight.push({ offset: next, count: rsize, result });
    next += BigInt(rsize);
  };
  try {
    for (;;) {
      while (
        inflight.length < depth && (size === undefined || next < size || inflight.length === 0)
      ) {
        issue();
      }
      const head = inflight.shift()!;
      const { data, eof } = await head.result;
      if (data.length > 0) yield data;
      if (eof || data.length === 0) return;
      if (data.length < head.count) {
        await Promise.allSettled(inflight.map((i) => i.result));
        inflight.length = 0;
        next = head.offset + BigInt(data.length);
      }
    }
  } finally {
    await Promise.allSettled(inflight.map((i) => i.result));
  }
}
