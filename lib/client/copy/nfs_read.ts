/**
 * Pipelined READs of one NFS file, handed on in order.
 * @module
 */

import type { OpenFile } from "../api.ts";
import { isSeekUnsupported } from "../errors.ts";
import { type PendingRead, restOfShortRead } from "../byte_range.ts";
import { endOfData, nothingPast } from "../read_progress.ts";
import { HoleFinder, type Segment } from "./sparse.ts";

/** The block size holes are looked for in when SEEK cannot be used. */
const HOLE_BLOCK = 4096;

/**
 * Streams `file` from the start (or `range.from`) with up to `depth` READs
 * of `rsize` in flight, in order. Past the known size one READ at a time
 * confirms EOF; a short READ (less than asked, not at EOF) is followed by a
 * READ of the rest of its range, next in line, the READs issued past it
 * kept (restOfShortRead, lib/client/byte_range.ts). With `range.to` it
 * stops there, reading nothing past it. An EOF before `size` (which the
 * client's file believes only once a GETATTR finds it truncated) fails the
 * read when a READ issued past it brought data: the file goes on there
 * (RFC 7530 §16.23.4, RFC 8881 §18.22.4). Memory: at most `depth` replies.
 */
export async function* pipelinedRead(
  file: Pick<OpenFile, "read" | "path">,
  size: bigint | undefined,
  rsize: number,
  depth: number,
  range: { readonly from?: bigint; readonly to?: bigint } = {},
): AsyncGenerator<Uint8Array> {
  let next = range.from ?? 0n;
  const to = range.to;
  if (to !== undefined) size = size === undefined || to < size ? to : size;
  const inflight: PendingRead[] = [];
  const issue = () => {
    const count = to === undefined ? rsize : Math.min(rsize, Number(to - next));
    const result = file.read(next, count);
    result.catch(() => undefined); // observed when awaited
    inflight.push({ offset: next, count, result });
    next += BigInt(count);
  };
  try {
    for (;;) {
      while (
        inflight.length < depth && (to === undefined || next < to) &&
        (size === undefined || next < size || inflight.length === 0)
      ) {
        issue();
      }
      if (inflight.length === 0) return; // `to` reached
      const head = inflight.shift()!;
      const reply = await head.result;
      const { data } = reply;
      if (data.length > 0) yield data;
      if (endOfData(file.path, head.offset, size, reply)) {
        await nothingPast(file.path, head.offset, size, reply, inflight);
        return;
      }
      if (to !== undefined && head.offset + BigInt(data.length) >= to) return;
      if (data.length < head.count) {
        inflight.unshift(restOfShortRead(head, data.length, (at, count) => file.read(at, count)));
      }
    }
  } finally {
    await Promise.allSettled(inflight.map((i) => i.result));
  }
}

/**
 * The data and holes of `file` up to `size`, found with NFSv4.2 SEEK
 * (RFC 7862 §15.11) rather than by reading zeros: SEEK for the next data,
 * a hole up to it, SEEK for the next hole, the data in between read with
 * {@linkcode pipelinedRead}. What lies in a hole is never read.
 */
export async function* seekedRead(
  file: Pick<OpenFile, "read" | "path"> & { seek: NonNullable<OpenFile["seek"]> },
  size: bigint,
  rsize: number,
  depth: number,
): AsyncGenerator<Segment> {
  let at = 0n;
  while (at < size) {
    let data: { eof: boolean; offset: bigint };
    try {
      data = await file.seek(at, "data");
    } catch (e) {
      if (!isSeekUnsupported(e)) throw e;
      yield* readFindingHoles(file, size, rsize, depth, at);
      return;
    }
    // sr_eof: no data after `at` (RFC 7862 §15.11.3; sr_offset then says
    // nothing: Ganesha echoes `at`).
    const dataAt = data.eof || data.offset >= size ? size : data.offset > at ? data.offset : at;
    if (dataAt > at) yield { kind: "hole", length: Number(dataAt - at) };
    if (dataAt >= size) return;
    let hole: { eof: boolean; offset: bigint };
    try {
      hole = await file.seek(dataAt, "hole");
    } catch (e) {
      // A server may seek data but not holes (NFS4ERR_UNION_NOTSUPP).
      if (!isSeekUnsupported(e)) throw e;
      yield* readFindingHoles(file, size, rsize, depth, dataAt);
      return;
    }
    // The end of the file counts as a hole; an answer that makes no sense
    // (a hole before the data) means: read to the end.
    const holeAt = !hole.eof && hole.offset > dataAt && hole.offset < size ? hole.offset : size;
    for await (
      const bytes of pipelinedRead(file, size, rsize, depth, { from: dataAt, to: holeAt })
    ) {
      yield { kind: "data", bytes };
    }
    at = holeAt;
  }
}

/**
 * The rest of `file` from `from`, read whole, its holes found in the zeros:
 * SEEK is optional (RFC 7862 §15.11), and a server that answers it with
 * NFS4ERR_NOTSUPP or NFS4ERR_UNION_NOTSUPP is read as 4.0 and 4.1 are.
 */
async function* readFindingHoles(
  file: Pick<OpenFile, "read" | "path">,
  size: bigint,
  rsize: number,
  depth: number,
  from: bigint,
): AsyncGenerator<Segment> {
  const finder = new HoleFinder(HOLE_BLOCK);
  for await (const chunk of pipelinedRead(file, size, rsize, depth, { from })) {
    yield* finder.push(chunk);
  }
  yield* finder.end();
}
