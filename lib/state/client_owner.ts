/**
 * The client owner string (RFC 7530 §9.1.1 nfs_client_id4.id, RFC 8881
 * §2.4 co_ownerid) and the boot verifier.
 *
 * The string is stable per host and user, so that a client that crashed and
 * comes back presents the same owner with a new verifier and the server
 * releases the old incarnation's state at once (RFC 7530 §9.1.1). Unlike the
 * kernel, each `nfs4` process is its own client: two processes of one user
 * must not share an owner string, or the second's new verifier would look
 * like a reboot of the first and the server would drop the first's locks.
 * So each process claims a numbered instance (`…/0`, `…/1`) through a pid
 * file in a per-user directory; an instance whose process has died is reused,
 * which tells the server that incarnation rebooted.
 * @module
 */

import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from "node:fs";
import { hostname, tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { randomBytes } from "node:crypto";

export interface ClientOwner {
  /** The owner string sent to the server. */
  readonly id: string;
  /** A new boot verifier: 8 bytes, different for every incarnation. */
  readonly verifier: Uint8Array;
  /** Releases the instance claim (on exit). */
  release(): void;
}

function currentUid(): number {
  try {
    return process.getuid?.() ?? userInfo().uid;
  } catch {
    return -1;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
}

/** A fresh boot verifier (time and randomness, so incarnations never repeat). */
export function newBootVerifier(): Uint8Array {
  const verifier = new Uint8Array(8);
  const seconds = Math.floor(Date.now() / 1000) >>> 0;
  new DataView(verifier.buffer).setUint32(0, seconds);
  verifier.set(randomBytes(4), 4);
  return verifier;
}

/**
 * Claims this process's client owner. `explicitId` (from `--client-id` or a
 * test) is used as is, without an instance claim.
 */
export function claimClientOwner(explicitId?: string): ClientOwner {
  const verifier = newBootVerifier();
  if (explicitId !== undefined) {
    return { id: explicitId, verifier, release() {} };
  }
  const uid = currentUid();
  const base = `nfs4-ts/${hostname()}/uid${uid}`;
  const dir = join(tmpdir(), `nfs4-owners-${uid}`);
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch {
    // Without a writable directory, fall back to a per-process owner.
    return { id: `${base}/pid${process.pid}`, verifier, release() {} };
  }
  for (let instance = 0; instance < 4096; instance++) {
    const file = join(dir, `${instance}.pid`);
    if (tryClaim(file)) {
      return {
        id: `${base}/${instance}`,
        verifier,
        release() {
          try {
            if (readFileSync(file, "utf8").trim() === String(process.pid)) unlinkSync(file);
          } catch { /* already gone */ }
        },
      };
    }
  }
  return { id: `${base}/pid${process.pid}`, verifier, release() {} };
}

function tryClaim(file: string): boolean {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(file, "wx", 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return true;
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") return false;
      let holder = NaN;
      try {
        holder = Number.parseInt(readFileSync(file, "utf8"), 10);
      } catch { /* racing with a release */ }
      if (Number.isInteger(holder) && holder > 0 && alive(holder)) return false;
      // The holder died: its instance is free (and reusing it tells the
      // server that incarnation is gone).
      try {
        unlinkSync(file);
      } catch { /* someone else reclaimed it first */ }
    }
  }
  return false;
}
