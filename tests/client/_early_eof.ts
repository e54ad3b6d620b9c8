/**
 * A server whose READ sets eof before the end of the file, for the tests of
 * RFC 7530 §16.23.4 / RFC 8881 §18.22.4 (eof only when the READ reached the
 * end): Ganesha behind the fault proxy (tests/_fault_proxy.ts), one READ
 * reply rewritten to carry part of its data and eof = TRUE, and a GETATTR's
 * size rewritten to agree with it (a server wrong twice over).
 *
 * The file's content says where each byte is ({@linkcode offsetWords}), so
 * the rewrite finds the READ at a given offset from its data alone (the
 * proxy keeps no READ arguments) whatever order the pipelined replies come
 * back in.
 * @module
 */

import assert from "node:assert/strict";
import type { FaultProxy, ReplyFaultHandle } from "../_fault_proxy.ts";
import { frameRecord, isPlainCompound, payloadOf, plainResultAt } from "../_fault_proxy_wire.ts";

const READ = 25;

/** `size` bytes (a multiple of 4) whose every 4-byte word is its own offset, big-endian. */
export function offsetWords(size: number): Uint8Array {
  assert.equal(size % 4, 0);
  const data = new Uint8Array(size);
  const view = new DataView(data.buffer);
  for (let at = 0; at < size; at += 4) view.setUint32(at, at);
  return data;
}

/**
 * The place of a READ result in `[SEQUENCE] PUTFH READ`'s reply: its eof,
 * data length, data; undefined when an op failed.
 */
function readResult(
  payload: Uint8Array,
): { eofAt: number; dataAt: number; length: number } | undefined {
  const at = plainResultAt(payload, READ);
  if (at === undefined) return undefined;
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { eofAt: at, dataAt: at + 8, length: view.getUint32(at + 4) };
}

/** An early end of file armed on a proxy: what it did, once it did. */
export interface EarlyEof {
  readonly handle: ReplyFaultHandle;
  /** Where the rewritten READ's data now ends (with eof), once rewritten. */
  readonly end: number | undefined;
}

/**
 * Arms `proxy` to rewrite the reply of the plain READ whose data starts at
 * byte `start` of an {@linkcode offsetWords} file: its first `keep` bytes
 * (half of them by default) and eof = TRUE. Once only; other READs pass.
 */
export function earlyEofAt(
  proxy: FaultProxy,
  start: number,
  keep: (length: number) => number = (length) => Math.floor(length / 8) * 4,
): EarlyEof {
  let end: number | undefined;
  const handle = proxy.onReply({
    op: "READ",
    match: (call) => isPlainCompound(call.ops, "READ"),
    times: Infinity,
    action: "rewrite",
    rewrite: (record) => {
      if (end !== undefined) return record;
      const payload = payloadOf(record);
      const read = readResult(payload);
      if (read === undefined || read.length < 4) return record;
      const { eofAt, dataAt, length } = read;
      const view = new DataView(payload.buffer);
      if (view.getUint32(dataAt) !== start) return record;
      const kept = keep(length);
      assert.ok(kept < length, "fewer bytes than the READ brought");
      const out = new Uint8Array(dataAt + ((kept + 3) & ~3));
      out.set(payload.subarray(0, dataAt + kept));
      const outView = new DataView(out.buffer);
      outView.setUint32(eofAt, 1);
      outView.setUint32(eofAt + 4, kept);
      end = start + kept;
      return frameRecord(out);
    },
  });
  return {
    handle,
    get end() {
      return end;
    },
  };
}

/**
 * Arms `proxy` to rewrite the size in the replies to `[SEQUENCE] PUTFH
 * GETATTR(size)` from `was` to `size()` (when it gives one): a server whose
 * GETATTR agrees with a false eof. Arm it once the file is open, so that no
 * walk's GETATTR is taken for it.
 */
export function sizeSaidToBe(
  proxy: FaultProxy,
  was: number,
  size: () => number | undefined,
): ReplyFaultHandle {
  return proxy.onReply({
    op: "GETATTR",
    match: (call) => call.ops.filter((op) => op !== "SEQUENCE").join(" ") === "PUTFH GETATTR",
    times: Infinity,
    action: "rewrite",
    rewrite: (record) => {
      const said = size();
      if (said === undefined) return record;
      const payload = payloadOf(record);
      const view = new DataView(payload.buffer);
      // fattr4's attr_vals, last in the reply: its length (8), the size.
      const at = payload.length - 8;
      assert.equal(view.getUint32(at - 4), 8, "GETATTR of the size alone");
      assert.equal(view.getBigUint64(at), BigInt(was), "the size the server gave");
      view.setBigUint64(at, BigInt(said));
      return frameRecord(payload);
    },
  });
}
