/**
 * Basic NFSv4 data types shared by many operations (RFC 7531 §2):
 * stateid4, verifier4, nfstime4, change_info4, and their codecs.
 * @module
 */

import type { XdrReader, XdrWriter } from "../xdr/mod.ts";
import { NFS4_FHSIZE, NFS4_OTHER_SIZE, NFS4_VERIFIER_SIZE } from "./constants.ts";

/** A file handle: opaque, at most 128 bytes (RFC 7530 §4). */
export type FileHandle = Uint8Array;

/** stateid4 (RFC 7530 §9.1.4): a seqid and 12 opaque bytes. */
export interface Stateid {
  readonly seqid: number;
  readonly other: Uint8Array;
}

/** The anonymous stateid: all zeros (RFC 7530 §9.1.4.3). */
export const ANONYMOUS_STATEID: Stateid = Object.freeze({
  seqid: 0,
  other: new Uint8Array(NFS4_OTHER_SIZE),
});

/** The READ bypass stateid: all ones (RFC 7530 §9.1.4.3). */
export const READ_BYPASS_STATEID: Stateid = Object.freeze({
  seqid: 0xffffffff,
  other: new Uint8Array(NFS4_OTHER_SIZE).fill(0xff),
});

/** The current stateid of NFSv4.1 (RFC 8881 §8.2.3): seqid 1, other zero. */
export const CURRENT_STATEID: Stateid = Object.freeze({
  seqid: 1,
  other: new Uint8Array(NFS4_OTHER_SIZE),
});

export function encodeStateid(w: XdrWriter, stateid: Stateid): void {
  w.writeUint(stateid.seqid);
  w.writeFixedOpaque(stateid.other, NFS4_OTHER_SIZE);
}

export function decodeStateid(r: XdrReader): Stateid {
  const seqid = r.readUint();
  // Copy: a stateid outlives the reply buffer it came in.
  const other = r.readFixedOpaque(NFS4_OTHER_SIZE).slice();
  return { seqid, other };
}

/** `a1b2…:3` — short and stable, for traces. */
export function formatStateid(stateid: Stateid): string {
  return `${hex(stateid.other)}:${stateid.seqid}`;
}

/** Whether two stateids name the same state (ignoring seqid). */
export function sameStateOther(a: Stateid, b: Stateid): boolean {
  return bytesEqual(a.other, b.other);
}

/** verifier4: 8 opaque bytes. */
export type Verifier = Uint8Array;

export function encodeVerifier(w: XdrWriter, verifier: Verifier): void {
  w.writeFixedOpaque(verifier, NFS4_VERIFIER_SIZE);
}

export function decodeVerifier(r: XdrReader): Verifier {
  return r.readFixedOpaque(NFS4_VERIFIER_SIZE).slice();
}

export function encodeFileHandle(w: XdrWriter, fh: FileHandle): void {
  w.writeOpaque(fh, NFS4_FHSIZE);
}

export function decodeFileHandle(r: XdrReader): FileHandle {
  return r.readOpaque(NFS4_FHSIZE).slice();
}

/** nfstime4 (RFC 7530 §3.3.1). */
export interface NfsTime {
  readonly seconds: bigint;
  readonly nseconds: number;
}

export function encodeNfsTime(w: XdrWriter, time: NfsTime): void {
  w.writeHyper(time.seconds);
  w.writeUint(time.nseconds);
}

export function decodeNfsTime(r: XdrReader): NfsTime {
  const seconds = r.readHyper();
  const nseconds = r.readUint();
  return { seconds, nseconds };
}

/** change_info4 (RFC 7530 §3.3.6). */
export interface ChangeInfo {
  readonly atomic: boolean;
  readonly before: bigint;
  readonly after: bigint;
}

export function encodeChangeInfo(w: XdrWriter, info: ChangeInfo): void {
  w.writeBool(info.atomic);
  w.writeUhyper(info.before);
  w.writeUhyper(info.after);
}

export function decodeChangeInfo(r: XdrReader): ChangeInfo {
  const atomic = r.readBool();
  const before = r.readUhyper();
  const after = r.readUhyper();
  return { atomic, before, after };
}

/** Lower-case hex of some bytes. */
export function hex(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
