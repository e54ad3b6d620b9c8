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

const READ = 25;
const SEQUENCE = 53;
const PUTFH = 22;

/** `size` bytes (a multiple of 4) whose every 4-byte word is its own offset, big-endian. */
export function offsetWords(size: number): Uint8Array {
  assert.equal(size % 4, 0);
  const data = new Uint8Array(size);
  const view = new DataView(data.buffer);
  for (let at = 0; at < size; at += 4) view.setUint32(at, at);
  return data;
}

/** A record's data, its fragments joined (RFC 5531 §11). */
function payloadOf(raw: Uint8Array): Uint8Array {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const parts: Uint8Array[] = [];
  let at = 0;
  let total = 0;
  while (at < raw.length) {
    const length = view.getUint32(at) & 0x7fffffff;
    parts.push(raw.subarray(at + 4, at + 4 + length));
    total += length;
    at += 4 + length;
  }
  const out = new Uint8Array(total);
  let filled = 0;
  for (const part of parts) {
    out.set(part, filled);
    filled += part.length;
  }
  return out;
}

/** `payload` as one last fragment. */
function recordOf(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(payload.length + 4);
  new DataView(out.buffer).setUint32(0, (0x80000000 | payload.length) >>> 0);
  out.set(payload, 4);
  return out;
}

/**
 * Where a COMPOUND reply's results start (after the RPC header, status, tag
 * and count); undefined when it is not accepted with NFS4_OK.
 */
function resultsAt(view: DataView): number | undefined {
  // xid, REPLY, MSG_ACCEPTED, verifier (flavor, length, body), SUCCESS.
  const verifierLength = view.getUint32(16);
  let at = 24 + ((verifierLength + 3) & ~3);
  if (view.getUint32(at - 4) !== 0 || view.getUint32(at) !== 0) return undefined; // not NFS4_OK
  const tagLength = view.getUint32(at + 4);
  at += 8 + ((tagLength + 3) & ~3);
  return at + 4; // resarray's count
}

/**
 * The place of a READ result in `[SEQUENCE] PUTFH READ`'s reply: its eof,
 * data length, data; undefined when an op failed.
 */
function readResult(
  payload: Uint8Array,
): { eofAt: number; dataAt: number; length: number } | undefined {
  const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  let at = resultsAt(view);
  if (at === undefined) return undefined;
  for (;;) {
    const op = view.getUint32(at);
    if (view.getUint32(at + 4) !== 0) return undefined;
    at += 8;
    if (op === SEQUENCE) at += 36;
    else if (op === READ) break;
    else assert.equal(op, PUTFH, "a READ COMPOUND's ops");
  }
  return { eofAt: at, dataAt: at + 8, length: view.getUint32(at + 4) };
}

/** A plain READ COMPOUND: `PUTFH READ`, after SEQUENCE on 4.1. */
function plainRead(ops: readonly string[]): boolean {
  const rest = ops[0] === "SEQUENCE" ? ops.slice(1) : ops;
  return rest.length === 2 && rest[0] === "PUTFH" && rest[1] === "READ";
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
    match: (call) => plainRead(call.ops),
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
      return recordOf(out);
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
      return recordOf(payload);
    },
  });
}
