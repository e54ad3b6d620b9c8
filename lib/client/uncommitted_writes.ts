/**
 * The bookkeeping of the WRITEs a handle sent with less than FILE_SYNC4:
 * which byte ranges no COMMIT has vouched for yet, and with which write
 * verifier, so that NfsFile.close() and Nfs4Client.close() know what to
 * COMMIT and can tell a server restart lost some (RFC 7530 §16.3.4,
 * RFC 8881 §18.3.3).
 * @module
 */

import { StableHow } from "../nfs4/constants.ts";
import { bytesEqual, hex } from "../nfs4/types.ts";

/** A byte range [start, end) written with less than FILE_SYNC4, not yet committed. */
interface UncommittedRange {
  start: bigint;
  end: bigint;
  /** The write verifier its WRITE returned. */
  verifier: Uint8Array;
  /**
   * The COMMITs sent before its WRITE was answered: the COMMIT sent next
   * (of this number) and those after cover it.
   */
  generation: number;
  /** A COMMIT that covered it returned another verifier: lost in a restart. */
  lost: boolean;
}

/**
 * The WRITEs through one handle that no COMMIT has vouched for yet: those
 * answered UNSTABLE4 or DATA_SYNC4 (less than FILE_SYNC4, as the copy's
 * writer counts them, copy/nfs_writer.ts), each range with the verifier
 * its WRITE returned. A server may lose them in a restart until a COMMIT
 * sent after them returns the same verifier (RFC 7530 §16.36.4, §16.3.4;
 * RFC 8881 §18.32.3, §18.3.3); one returning another says it restarted
 * and they may be gone. Ranges are kept sorted and apart: a later WRITE
 * over a range replaces it (its bytes are the file's now). Neighbours
 * answered between the same two COMMITs with one verifier are one range,
 * so a long sequential write is one range per COMMIT, and a COMMIT's
 * answer still applies to exactly the WRITEs answered before it was sent
 * (the copy commits one window while the next one's WRITEs go on).
 */
export class UncommittedWrites {
  #ranges: UncommittedRange[] = [];
  /** COMMITs sent so far ({@linkcode markCommit}). */
  #commits = 0;

  get empty(): boolean {
    return this.#ranges.length === 0;
  }

  /** A COMMIT is being sent: what it covers is every WRITE answered so far. */
  markCommit(): number {
    return this.#commits++;
  }

  /** A WRITE of [start, end) was answered `committed` (stable_how4) with `verifier`. */
  wrote(start: bigint, end: bigint, committed: number, verifier: Uint8Array): void {
    const ranges = this.#ranges;
    // The first range ending after `start`, then those it overlaps.
    let lo = 0;
    let hi = ranges.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ranges[mid]!.end <= start) lo = mid + 1;
      else hi = mid;
    }
    let past = lo;
    const parts: UncommittedRange[] = [];
    let after: UncommittedRange | undefined;
    for (; past < ranges.length && ranges[past]!.start < end; past++) {
      const r = ranges[past]!;
      if (r.start < start) parts.push({ ...r, end: start });
      if (r.end > end) after = { ...r, start: end };
    }
    if (committed < StableHow.FILE_SYNC4) {
      const generation = this.#commits;
      parts.push({ start, end, verifier: verifier.slice(), generation, lost: false });
    }
    if (after) parts.push(after);
    ranges.splice(lo, past - lo, ...parts);
    for (let i = Math.max(lo - 1, 0); i < Math.min(lo + parts.length, ranges.length - 1);) {
      const a = ranges[i]!;
      const b = ranges[i + 1]!;
      if (
        a.end === b.start && a.generation === b.generation && !a.lost && !b.lost &&
        bytesEqual(a.verifier, b.verifier)
      ) {
        ranges.splice(i, 2, { ...a, end: b.end });
      } else {
        i++;
      }
    }
  }

  /**
   * The COMMIT `mark` ({@linkcode markCommit}) returned `verifier`: what
   * it covers with that verifier is on stable storage, and forgotten; what
   * it covers with another was lost in a restart (RFC 8881 §18.3.3), and
   * stays so until written again.
   */
  committed(mark: number, verifier: Uint8Array): void {
    this.#ranges = this.#ranges.filter((r) => {
      if (r.generation > mark) return true;
      if (!r.lost && bytesEqual(r.verifier, verifier)) return false;
      r.lost = true;
      return true;
    });
  }

  /** The ranges left, as offsets and lengths, neighbours as one. */
  ranges(): { offset: bigint; length: bigint }[] {
    const out: { offset: bigint; length: bigint }[] = [];
    for (const r of this.#ranges) {
      const last = out[out.length - 1];
      if (last && last.offset + last.length === r.start) last.length += r.end - r.start;
      else out.push({ offset: r.start, length: r.end - r.start });
    }
    return out;
  }

  /** The verifiers the WRITEs left returned, in hex, each once. */
  verifiers(): string[] {
    return [...new Set(this.#ranges.map((r) => hex(r.verifier)))];
  }
}
