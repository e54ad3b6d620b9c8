/**
 * The client owner string (RFC 7530 §9.1.1 nfs_client_id4.id, RFC 8881
 * §2.4 co_ownerid) and the boot verifier.
 *
 * The string is stable per host and user, so that a client that crashed and
 * comes back presents the same owner with a new verifier and the server
 * releases the old incarnation's state at once (RFC 7530 §9.1.1). Unlike the
 * kernel, each `nfs4` process is its own client: two processes of one user
 * must never share an owner string, or the second's new verifier would look
 * like a reboot of the first and the server would drop the first's locks.
 *
 * So each process claims a numbered instance (`…/0`, `…/1`) by taking an
 * exclusive flock(2) on `N.lock` in a per-user directory, and holds it for
 * its whole life: the kernel grants it to one process at a time, atomically,
 * and releases it when the process ends however it ends, so a dead process's
 * instance goes to the next process, which tells the server that
 * incarnation is gone. The directory does not depend on the environment
 * (TMPDIR, HOME, systemd's PrivateTmp): `/dev/shm/nfs4-owners-UID`, else
 * `.local/state/nfs4/owners` in the passwd entry's home; it must be a
 * directory of this user that no one else can write. Where no instance can
 * be claimed that way, the owner names this process and a random tag: unique,
 * though nothing is then handed on.
 *
 * A process this one starts to run under its state (`nfs4 lock URL --
 * COMMAND`) keeps the instance's descriptor ({@linkcode heldInstanceDescriptors}),
 * as flock(1) leaves its lock's descriptor to its COMMAND: should nfs4 be
 * killed (SIGKILL, which it cannot pass on), the instance is not handed to
 * the next process while COMMAND runs, since that process's new verifier
 * would make the server drop the dead client's lock at once (RFC 7530
 * §9.1.1, RFC 8881 §2.4.1) and let a second holder in beside COMMAND. The
 * next process takes another instance, and the lock stays until the lease
 * ends.
 * @module
 */

import { lstatSync, mkdirSync } from "node:fs";
import { hostname, userInfo } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { libc, O } from "../os/libc.ts";

export interface ClientOwner {
  /** The owner string sent to the server. */
  readonly id: string;
  /** A new boot verifier: 8 bytes, different for every incarnation. */
  readonly verifier: Uint8Array;
  /** Releases the instance claim (on exit; the process's end releases it too). */
  release(): void;
}

function currentUid(): number {
  try {
    return process.getuid?.() ?? userInfo().uid;
  } catch {
    return -1;
  }
}

/**
 * `length` random bytes from Web Crypto, which every runtime has as a global
 * (`node:crypto` would be loaded at start-up by every command: see
 * lib/os/builtins.ts).
 */
function randomBytes(length: number): Uint8Array {
  return globalThis.crypto.getRandomValues(new Uint8Array(length));
}

/** A fresh boot verifier (time and randomness, so incarnations never repeat). */
export function newBootVerifier(): Uint8Array {
  const verifier = new Uint8Array(8);
  const seconds = Math.floor(Date.now() / 1000) >>> 0;
  new DataView(verifier.buffer).setUint32(0, seconds);
  verifier.set(randomBytes(4), 4);
  return verifier;
}

/** The descriptors of the instance locks this process holds (see heldInstanceDescriptors). */
const heldDescriptors = new Set<number>();

/**
 * The descriptors of the instance locks this process holds: a child given
 * them (as an extra stdio entry, which node:child_process dup2()s into the
 * child without O_CLOEXEC, under Deno and Bun alike) keeps the instance
 * from being claimed by another process for as long as it, or a child of
 * its own that inherits them, lives.
 */
export function heldInstanceDescriptors(): readonly number[] {
  return [...heldDescriptors];
}

/** Instances tried before giving up on claiming one. */
const MAX_INSTANCES = 4096;

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
  const claim = claimInstance(uid);
  if (claim) return { id: `${base}/${claim.instance}`, verifier, release: claim.release };
  const tag = Array.from(randomBytes(4), (b) => b.toString(16).padStart(2, "0")).join("");
  return { id: `${base}/pid${process.pid}-${tag}`, verifier, release() {} };
}

/** The lowest free instance, locked for this process's life; undefined when none can be. */
export function claimInstance(
  uid: number,
  directories: readonly string[] = ownerDirectories(uid),
): { instance: number; release(): void } | undefined {
  const sys = libc();
  if (!sys) return undefined;
  for (const dir of directories) {
    if (!privateDirectory(dir, uid)) continue;
    for (let instance = 0; instance < MAX_INSTANCES; instance++) {
      let fd: number;
      try {
        fd = sys.open(join(dir, `${instance}.lock`), O.RDWR | O.CREAT | O.CLOEXEC, 0o600);
      } catch {
        break; // this directory will not do
      }
      let locked = false;
      try {
        locked = sys.tryLockExclusive(fd);
      } catch {
        // flock not supported here
      }
      if (locked) {
        let held = true;
        heldDescriptors.add(fd);
        return {
          instance,
          release() {
            if (held) {
              heldDescriptors.delete(fd);
              sys.close(fd);
            }
            held = false;
          },
        };
      }
      sys.close(fd);
    }
  }
  return undefined;
}

/** Where instance locks live, in order of preference (see the module comment). */
function ownerDirectories(uid: number): string[] {
  const dirs = [`/dev/shm/nfs4-owners-${uid}`];
  try {
    dirs.push(join(userInfo().homedir, ".local", "state", "nfs4", "owners"));
  } catch {
    // no passwd entry
  }
  return dirs;
}

/** Makes `dir` if needed; true when it is a directory of `uid` that others cannot write. */
function privateDirectory(dir: string, uid: number): boolean {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(dir);
    return st.isDirectory() && (uid < 0 || st.uid === uid) && (st.mode & 0o022) === 0;
  } catch {
    return false;
  }
}
