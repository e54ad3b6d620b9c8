/**
 * The byte ranges one lock owner holds, kept as the server keeps them:
 * POSIX record locks (fcntl F_SETLK), which both NFS-Ganesha and knfsd
 * apply to NFSv4 byte-range locks of one lock owner (RFC 7530 §9.2, RFC
 * 8881 §12.2: a server "supporting POSIX locking semantics" merges, splits
 * and converts them). A LOCK takes its bytes with its type, whatever this
 * owner held there before (an upgrade or a downgrade converts them, RFC
 * 7530 §16.10.4), and joins the ranges of the same type it touches; a LOCKU
 * releases its bytes, whatever their type, and may split a range in two
 * (RFC 7530 §16.12.4).
 *
 * What recovery reclaims, what describeState() and onLockLost report and
 * what the release unlocks is what is held (RFC 7530 §9.6.2, RFC 8881
 * §8.4.2.1: the client reclaims the locks it held), never the list of
 * requests: as the kernel reclaims from the VFS's lock list, which is kept
 * so (fs/locks.c posix_lock_inode). The result is sorted by offset,
 * disjoint, and two ranges of the same type never touch.
 *
 * What we give up: a server without POSIX lock semantics (no
 * OPEN4_RESULT_LOCKTYPE_POSIX in its OPEN replies, RFC 7530 §16.16.5) keeps
 * two touching locks apart and may refuse a LOCKU or a reclaim of the
 * merged range with NFS4ERR_LOCK_RANGE (the release then reports what it
 * could not unlock). The kernel reclaims and unlocks from its merged VFS
 * list just the same; NFS-Ganesha and knfsd both lock POSIX-style.
 *
 * @module
 */

import type { LockRange } from "./open_state.ts";

const UINT64_MAX = 0xffff_ffff_ffff_ffffn;
/** One past the last byte: where a range "to the end of file" ends. */
const EOF_END = UINT64_MAX + 1n;

/** A range as [start, end): `end` is EOF_END for "to the end of file". */
interface Span {
  readonly type: LockRange["type"];
  readonly start: bigint;
  readonly end: bigint;
}

/**
 * Where `range` ends (exclusive). A length of all ones means to the end
 * of file (RFC 7530 §9.2); so does 0, as formatRange reads it (Ganesha
 * says it so), and a length past the last byte.
 */
function endOf(range: LockRange): bigint {
  const { offset, length } = range;
  if (length === 0n || length === UINT64_MAX || offset + length > UINT64_MAX) return EOF_END;
  return offset + length;
}

/** Back to offset and length: to the end of file is length all ones, as the wire says it. */
function rangeOf(span: Span): LockRange {
  const length = span.end === EOF_END ? UINT64_MAX : span.end - span.start;
  return { type: span.type, offset: span.start, length };
}

/** `held` without the bytes of [start, end), splitting a range that spans them. */
function without(held: readonly Span[], start: bigint, end: bigint): Span[] {
  const out: Span[] = [];
  for (const s of held) {
    if (s.end <= start || s.start >= end) {
      out.push(s);
      continue;
    }
    if (s.start < start) out.push({ type: s.type, start: s.start, end: start });
    if (s.end > end) out.push({ type: s.type, start: end, end: s.end });
  }
  return out;
}

/** Sorted by start, with touching or overlapping ranges of one type joined. */
function normalised(spans: readonly Span[]): Span[] {
  const sorted = spans.filter((s) => s.start < s.end)
    .sort((a, b) => (a.start < b.start ? -1 : a.start > b.start ? 1 : 0));
  const out: Span[] = [];
  for (const s of sorted) {
    const last = out[out.length - 1];
    if (last && last.type === s.type && s.start <= last.end) {
      if (s.end > last.end) {
        out[out.length - 1] = { type: last.type, start: last.start, end: s.end };
      }
    } else {
      out.push(s);
    }
  }
  return out;
}

function spansOf(ranges: readonly LockRange[]): Span[] {
  return ranges.map((r) => ({ type: r.type, start: r.offset, end: endOf(r) }));
}

/**
 * What an owner holding `held` holds once a LOCK of `range` is granted:
 * its bytes take its type (upgrade, downgrade), joined with the ranges of
 * that type it touches.
 */
export function withLocked(held: readonly LockRange[], range: LockRange): LockRange[] {
  const end = endOf(range);
  const rest = without(normalised(spansOf(held)), range.offset, end);
  return normalised([...rest, { type: range.type, start: range.offset, end }]).map(rangeOf);
}

/**
 * What an owner holding `held` holds once a LOCKU of `range` succeeded:
 * none of its bytes, of either type; a range it cuts through is split.
 */
export function withUnlocked(held: readonly LockRange[], range: LockRange): LockRange[] {
  return normalised(without(normalised(spansOf(held)), range.offset, endOf(range))).map(rangeOf);
}

/** Whether `held` holds every byte of `range` with its type. */
export function holdsRange(held: readonly LockRange[], range: LockRange): boolean {
  const end = endOf(range);
  return normalised(spansOf(held)).some((s) =>
    s.type === range.type && s.start <= range.offset && s.end >= end
  );
}

/** Whether any byte of `a` is a byte of `b`, whatever their types. */
export function rangesOverlap(a: LockRange, b: LockRange): boolean {
  return a.offset < endOf(b) && b.offset < endOf(a);
}

/** Records a granted LOCK of `range` in `held` (the lock state's list, changed in place). */
export function recordLocked(held: LockRange[], range: LockRange): void {
  held.splice(0, held.length, ...withLocked(held, range));
}

/** Records a LOCKU of `range` in `held` (the lock state's list, changed in place). */
export function recordUnlocked(held: LockRange[], range: LockRange): void {
  held.splice(0, held.length, ...withUnlocked(held, range));
}
