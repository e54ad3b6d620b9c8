/**
 * Basic NFSv4 data types shared by many operations (RFC 7531 §2):
 * stateid4, verifier4, nfstime4, change_info4, and their codecs.
 * @module
 */

import type { XdrReader, XdrWriter } from "../xdr/mod.ts";
import {
  Limits,
  NFS4_FHSIZE,
  NFS4_OPAQUE_LIMIT,
  NFS4_OTHER_SIZE,
  NFS4_SESSIONID_SIZE,
  NFS4_VERIFIER_SIZE,
} from "./constants.ts";

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

/**
 * Whether `stateid` is one of the special stateids, which no server
 * issues: its `other` all zeros (anonymous, and 4.1's current and invalid
 * stateids) or all ones (READ bypass) (RFC 7530 §9.1.4.3, RFC 8881 §8.2.3).
 */
export function isSpecialStateid(stateid: Stateid): boolean {
  const other = stateid.other;
  const first = other[0];
  if (first !== 0 && first !== 0xff) return false;
  for (let i = 1; i < other.length; i++) if (other[i] !== first) return false;
  return true;
}

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

/**
 * The stateid a state keeps when a reply brings it `incoming`: replies to
 * concurrent requests on one state (two OPENs of a file by one owner on
 * 4.1, a LOCK and a LOCKU) may arrive out of order, and an older seqid must
 * not replace a newer one (RFC 8881 §8.2.2, §9.10; the kernel's
 * nfs4_stateid_is_newer, seqids compared modulo 2^32). A different `other`
 * is another state, and is taken.
 */
export function newerStateid(current: Stateid | undefined, incoming: Stateid): Stateid {
  if (current === undefined || !sameStateOther(current, incoming)) return incoming;
  return ((incoming.seqid - current.seqid) | 0) > 0 ? incoming : current;
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

/** nfstime4: seconds and nanoseconds since the epoch (RFC 7530 §3.3.1). */
export interface NfsTime {
  /** Seconds since 1970-01-01T00:00:00Z (negative before). */
  readonly seconds: bigint;
  /** Nanoseconds within the second, 0 to 999,999,999. */
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

/** sessionid4: 16 opaque bytes (RFC 8881 §2.10.3). */
export type SessionId = Uint8Array;

export function encodeSessionId(w: XdrWriter, sessionid: SessionId): void {
  w.writeFixedOpaque(sessionid, NFS4_SESSIONID_SIZE);
}

export function decodeSessionId(r: XdrReader): SessionId {
  // Copy: a session outlives the reply buffer it came in.
  return r.readFixedOpaque(NFS4_SESSIONID_SIZE).slice();
}

/**
 * state_owner4, used as open_owner4 and lock_owner4 (RFC 7530 §3.3.10): the
 * client ID and up to 1024 opaque bytes naming the owner.
 */
export interface StateOwner {
  readonly clientid: bigint;
  readonly owner: Uint8Array;
}

export function encodeStateOwner(w: XdrWriter, owner: StateOwner): void {
  w.writeUhyper(owner.clientid);
  w.writeOpaque(owner.owner, NFS4_OPAQUE_LIMIT);
}

export function decodeStateOwner(r: XdrReader): StateOwner {
  const clientid = r.readUhyper();
  const owner = r.readOpaque(NFS4_OPAQUE_LIMIT).slice();
  return { clientid, owner };
}

/** netaddr4 (RFC 5665 §5.2.3.4): an RPC netid (`tcp`, `tcp6`) and a universal address. */
export interface NetAddr {
  readonly netid: string;
  readonly addr: string;
}

export function encodeNetAddr(w: XdrWriter, addr: NetAddr): void {
  w.writeString(addr.netid, Limits.netaddr);
  w.writeString(addr.addr, Limits.netaddr);
}

export function decodeNetAddr(r: XdrReader): NetAddr {
  const netid = r.readString(Limits.netaddr);
  const addr = r.readString(Limits.netaddr);
  return { netid, addr };
}

/** specdata4: a device's major and minor numbers (the `rawdev` attribute). */
export interface SpecData {
  /** The major number. */
  readonly specdata1: number;
  /** The minor number. */
  readonly specdata2: number;
}

export function encodeSpecData(w: XdrWriter, data: SpecData): void {
  w.writeUint(data.specdata1);
  w.writeUint(data.specdata2);
}

export function decodeSpecData(r: XdrReader): SpecData {
  const specdata1 = r.readUint();
  const specdata2 = r.readUint();
  return { specdata1, specdata2 };
}

/** nfsace4: one access control entry (RFC 7530 §6.2.1, RFC 8881 §6.2.1). */
export interface Ace {
  /** ACE4_ACCESS_ALLOWED_ACE_TYPE (0), ..._DENIED_ (1), ..._AUDIT_ (2), ..._ALARM_ (3). */
  readonly type: number;
  /** The ACE4_* flag bits (inheritance, group). */
  readonly flag: number;
  /** The ACE4_* access mask bits. */
  readonly accessMask: number;
  /** Whom it applies to: `user@domain`, `OWNER@`, `GROUP@`, `EVERYONE@`. */
  readonly who: string;
}

export function encodeAce(w: XdrWriter, ace: Ace): void {
  w.writeUint(ace.type);
  w.writeUint(ace.flag);
  w.writeUint(ace.accessMask);
  w.writeString(ace.who, Limits.owner);
}

export function decodeAce(r: XdrReader): Ace {
  const type = r.readUint();
  const flag = r.readUint();
  const accessMask = r.readUint();
  const who = r.readString(Limits.owner);
  return { type, flag, accessMask, who };
}

/** An nfsace4 array, at most {@linkcode Limits.aces} long. */
export function encodeAces(w: XdrWriter, aces: readonly Ace[]): void {
  w.writeArray(aces, encodeAce, Limits.aces);
}

export function decodeAces(r: XdrReader): Ace[] {
  // type, flag, mask and an empty who: 16 bytes at least.
  return r.readArray(decodeAce, Limits.aces, 16);
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
