/**
 * The file a reboot drill (`nfs4 simulate-reboot`) works on, and the rule
 * that keeps the drill from changing a byte of a file it did not create.
 *
 * The drill writes markers into its file, so where it runs is decided here,
 * from what the URL names:
 *
 * - a directory: a new file of the drill's own in it, `.nfs4-drill-XXXXXX`
 *   (random suffix), created with OPEN GUARDED4 so that it can never replace
 *   anything (RFC 7530 §16.16.5: NFS4ERR_EXIST if the name is taken; another
 *   name is tried then), removed at the end;
 * - a name that does not exist: that file, created the same way, removed at
 *   the end;
 * - an existing empty regular file: used, truncated back to 0 bytes at the
 *   end (it existed before: it is never removed);
 * - an existing non-empty regular file: refused ({@linkcode DrillFileRefusedError}),
 *   unless `force`: then used, the bytes the drill writes stay overwritten,
 *   and it is left in place.
 *
 * Emptiness is read from the OPEN's own GETATTR, not from an earlier
 * LOOKUP, so a file that gained bytes in between is still refused.
 *
 * @example
 * ```ts
 * const target = await openDrillFile(client, parseNfsUrl("nfs://srv/export"), { force: false });
 * // target.url.text === "nfs://srv/export/.nfs4-drill-Qx81Zb", target.created === true
 * await target.file.write(0n, drillMarker("before"), "file");
 * const end = await endDrillFile(client, target, { file: target.file, written: true });
 * // end === "removed"
 * ```
 * @module
 */

import { Nfs4Status } from "../nfs4/status.ts";
import type { Nfs4ClientApi, WritableFile } from "./api.ts";
import { settleWithin } from "./drill.ts";
import { isSeekUnsupported, NfsError } from "./errors.ts";
import { joinUrl, type NfsUrl } from "./url.ts";
import { cleanupWork } from "./operation_scope.ts";

/** The name of a drill file created in a directory: this prefix and six random characters. */
export const DRILL_FILE_PREFIX = ".nfs4-drill-";

/** How many names are tried in a directory before giving up (each taken one: NFS4ERR_EXIST). */
const NAME_ATTEMPTS = 8;

/** Mode of a file the drill creates. */
const DRILL_FILE_MODE = 0o644;

/**
 * Where the drill's file came from:
 * `directory` (created in the directory the URL named), `new` (the URL
 * named a file that did not exist; created), `empty` (an existing empty
 * file) or `forced` (an existing non-empty file, with `force`).
 */
export type DrillFileOrigin = "directory" | "new" | "empty" | "forced";

/** The drill's file, open read-write. */
export interface DrillFile {
  /** The file's URL (for a directory, the directory's URL and the new name). */
  readonly url: NfsUrl;
  /** Its path from the pseudo-fs root. */
  readonly path: string;
  readonly origin: DrillFileOrigin;
  /** The drill created it, so the drill removes it. */
  readonly created: boolean;
  /** Its size when opened (undefined: the server did not say). */
  readonly sizeBefore: bigint | undefined;
  /** An existing file's fileid when opened: the cleanup truncates only that file. */
  readonly fileid?: bigint | undefined;
  /** The open (access read and write, deny none). */
  readonly file: WritableFile;
}

/** What the end of the drill did to its file. */
export type DrillFileEnd =
  /** Created by the drill, and removed. */
  | "removed"
  /** An existing empty file, truncated back to 0 bytes. */
  | "truncated"
  /**
   * An existing empty file left as it is because it holds more than the
   * drill wrote (another writer's bytes outside the drill's range, another
   * size, another file by that name), or that cannot be told: why.
   */
  | { readonly changed: string }
  /** Left as it is: forced, or nothing was written to it. */
  | "kept";

/**
 * The URL names an existing non-empty file and `force` was not given: the
 * drill would overwrite its bytes.
 */
export class DrillFileRefusedError extends Error {
  readonly url: NfsUrl;
  /** Its size (undefined: the server did not say, so it may not be empty). */
  readonly size: bigint | undefined;

  constructor(url: NfsUrl, size: bigint | undefined) {
    super(`${url.text}: an existing file that is not empty (${size ?? "unknown"} bytes)`);
    this.name = "DrillFileRefusedError";
    this.url = url;
    this.size = size;
  }
}

/** The markers the drill writes: `before` at the start of the range, `after` right behind it. */
export type MarkerPhase = "before" | "after";

const encoder = new TextEncoder();

/** A marker: `nfs4 simulate-reboot 1a2b3c4d before\n` (8 random hex digits). */
export function drillMarker(phase: MarkerPhase): Uint8Array {
  const tag = Array.from(
    crypto.getRandomValues(new Uint8Array(4)),
    (b) => b.toString(16).padStart(2, "0"),
  ).join("");
  return encoder.encode(`nfs4 simulate-reboot ${tag} ${phase}\n`);
}

/** The length of each marker (they differ only in their random digits). */
export const DRILL_MARKER_BYTES: Readonly<Record<MarkerPhase, number>> = {
  before: drillMarker("before").length,
  after: drillMarker("after").length,
};

/**
 * The most bytes a drill writes into its file: both markers, one after the
 * other from the start of the locked range.
 */
export const DRILL_BYTES_WRITTEN = DRILL_MARKER_BYTES.before + DRILL_MARKER_BYTES.after;

const NAME_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `.nfs4-drill-` and six random letters and digits, as mkstemp(3) makes them. */
export function drillFileName(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(6));
  return DRILL_FILE_PREFIX + Array.from(bytes, (b) => NAME_CHARS[b % NAME_CHARS.length]).join("");
}

function isStatus(error: unknown, status: number): boolean {
  return error instanceof NfsError && error.status === status;
}

/** How {@linkcode openDrillFile} opens. */
export interface OpenDrillFileOptions {
  /** Use an existing non-empty file (its bytes in the drill's range get overwritten). */
  readonly force: boolean;
  /**
   * The milliseconds left, asked before each OPEN, for it to be answered in
   * (`--wait`): a server in its grace period refuses a non-reclaim OPEN with
   * NFS4ERR_GRACE (RFC 7530 §9.6.2, RFC 8881 §8.4.2), which is waited out
   * only while another OPEN could still be answered in time, then is the
   * answer (OpenOptions.answerWithinMs). Undefined: waited out for as long
   * as the server stays in grace.
   */
  readonly answerWithinMs?: (() => number) | undefined;
}

/** The OpenOptions field that bounds one OPEN by `options.answerWithinMs`, if given. */
function bounded(options: OpenDrillFileOptions): { answerWithinMs?: number } {
  const left = options.answerWithinMs?.();
  return left === undefined ? {} : { answerWithinMs: Math.max(0, left) };
}

/**
 * Opens the drill's file for `url` by the rule above (read-write, deny
 * none). Throws {@linkcode DrillFileRefusedError} for an existing non-empty
 * file without `force`, and the server's error otherwise (a URL ending in
 * `/` must name a directory: NFS4ERR_NOTDIR; NFS4ERR_GRACE past
 * `answerWithinMs`).
 */
export async function openDrillFile(
  client: Nfs4ClientApi,
  url: NfsUrl,
  options: OpenDrillFileOptions,
): Promise<DrillFile> {
  const info = await client.stat(url.path, { follow: true }).catch((e) => {
    if (isStatus(e, Nfs4Status.NFS4ERR_NOENT) && !url.trailingSlash) return undefined;
    throw e;
  });
  if (info?.kind === "directory") return await createInDirectory(client, url, options);
  if (url.trailingSlash) {
    throw new NfsError(Nfs4Status.NFS4ERR_NOTDIR, "LOOKUP", { path: url.path });
  }
  if (info === undefined) {
    const file = await client.open(url.path, {
      access: "both",
      create: "guarded",
      mode: DRILL_FILE_MODE,
      ...bounded(options),
    });
    return { url, path: url.path, origin: "new", created: true, sizeBefore: 0n, file };
  }
  // An existing file (OPEN refuses anything but a regular file).
  const file = await client.open(url.path, { access: "both", ...bounded(options) });
  const size = file.size ?? info.size;
  if (size !== 0n && !options.force) {
    await file.close().catch(() => {});
    throw new DrillFileRefusedError(url, size);
  }
  return {
    url,
    path: url.path,
    origin: size === 0n ? "empty" : "forced",
    created: false,
    sizeBefore: size,
    fileid: info.fileid,
    file,
  };
}

/** A new `.nfs4-drill-XXXXXX` in directory `dir`, GUARDED4; a taken name: another one. */
async function createInDirectory(
  client: Nfs4ClientApi,
  dir: NfsUrl,
  options: OpenDrillFileOptions,
): Promise<DrillFile> {
  for (let attempt = 1;; attempt++) {
    const url = joinUrl(dir, drillFileName());
    try {
      const file = await client.open(url.path, {
        access: "both",
        create: "guarded",
        mode: DRILL_FILE_MODE,
        ...bounded(options),
      });
      return { url, path: url.path, origin: "directory", created: true, sizeBefore: 0n, file };
    } catch (e) {
      if (!isStatus(e, Nfs4Status.NFS4ERR_EXIST) || attempt >= NAME_ATTEMPTS) throw e;
    }
  }
}

/**
 * Ends the drill's use of its file: an existing empty file the drill wrote
 * to is truncated back to 0 bytes (through `file` while its open is good,
 * else through a new open), `file` is closed, and a file the drill created
 * is removed. A forced file is left as it is. Without `file` (its client is
 * gone) `client` may be a new one. Throws when the truncation or removal
 * fails (the server refuses REMOVE and OPEN during its grace period, and
 * the state manager waits that out: bound the call).
 */
export async function endDrillFile(
  client: Nfs4ClientApi,
  target: DrillFile,
  options: { readonly file?: WritableFile | undefined; readonly written: WrittenRange | undefined },
): Promise<DrillFileEnd> {
  const { file, written } = options;
  let truncated = false;
  let notOnlyOurs: string | undefined;
  if (target.origin === "empty" && written && file) {
    try {
      notOnlyOurs = await whyNotOnlyDrillBytes(client, target, file, written);
      if (notOnlyOurs === undefined) {
        truncated = await file.setattr({ size: 0n }).then(() => true, () => false);
      }
    } catch {
      // The drill's open cannot tell (lost in the drill, say): a new one below.
    }
  }
  await file?.close().catch(() => {});
  if (target.created) {
    await client.remove(target.path);
    return "removed";
  }
  if (target.origin === "empty" && written) {
    if (notOnlyOurs !== undefined) return { changed: notOnlyOurs };
    if (!truncated) {
      // Through a new open: looked at again first (by name, it may be
      // another file now), never opened with truncate.
      const again = await client.open(target.path, { access: "both" });
      try {
        notOnlyOurs = await whyNotOnlyDrillBytes(client, target, again, written);
        if (notOnlyOurs !== undefined) return { changed: notOnlyOurs };
        await again.setattr({ size: 0n });
      } finally {
        await again.close().catch(() => {});
      }
    }
    return "truncated";
  }
  return "kept";
}

/** The bytes the drill wrote to its file: [from, to). */
export interface WrittenRange {
  readonly from: bigint;
  readonly to: bigint;
}

/**
 * The most bytes before the drill's range read back to see that nobody
 * else wrote there, where SEEK (NFSv4.2) cannot say; a range further in is
 * not looked at, and the file is left as it is.
 */
const CHECKED_PREFIX_MAX = 1 << 20;

/**
 * Why the drill's file (an existing empty one) holds more than what the
 * drill wrote, or undefined when it holds nothing else: the same file
 * (fileid), its size the end of the drill's writes, and nothing but zeros
 * before them (another process may write there without conflicting with
 * the drill's lock). Only then is it truncated back to 0 bytes: the drill
 * changes no byte it did not write. Throws when it cannot look.
 */
async function whyNotOnlyDrillBytes(
  client: Nfs4ClientApi,
  target: DrillFile,
  file: WritableFile,
  written: WrittenRange,
): Promise<string | undefined> {
  const now = await client.stat(target.path);
  if (target.fileid !== undefined && now.fileid !== target.fileid) {
    return "another file has its name now";
  }
  if (now.size !== written.to) {
    return `its size is ${now.size ?? "unknown"}, where the drill's bytes end at ${written.to}`;
  }
  const others = "it holds bytes before the drill's range that the drill did not write";
  if (written.from === 0n) return undefined;
  if (file.seek) {
    // NFSv4.2: where the first data is, without reading (RFC 7862 §15.11);
    // a server without it (NOTSUPP, UNION_NOTSUPP) has the bytes read.
    try {
      const data = await file.seek(0n, "data");
      return data.eof || data.offset >= written.from ? undefined : others;
    } catch (e) {
      if (!isSeekUnsupported(e)) throw e;
    }
  }
  if (written.from > BigInt(CHECKED_PREFIX_MAX)) {
    return `the drill's range starts past ${CHECKED_PREFIX_MAX} bytes, too far in to read back ` +
      "what is before it (NFSv4.2's SEEK would tell)";
  }
  for (let at = 0n; at < written.from;) {
    const want = Number(written.from - at < 65536n ? written.from - at : 65536n);
    const { data, eof } = await file.read(at, want);
    if (data.some((b) => b !== 0)) return others;
    at += BigInt(data.length);
    if (data.length === 0 || eof) return at >= written.from ? undefined : others;
  }
  return undefined;
}

/** How the cleanup of the drill's file went ({@linkcode cleanUpDrillFile}). */
export type DrillFileCleanup =
  | { readonly kind: "done"; readonly end: DrillFileEnd }
  | { readonly kind: "failed"; readonly error: unknown }
  /**
   * Not done within `ms` (the server did not answer, or kept refusing);
   * `busy`: the drill's own client is still at it, so drop it rather than
   * close it.
   */
  | { readonly kind: "timeout"; readonly ms: number; readonly busy: boolean };

/**
 * {@linkcode endDrillFile} at the end of a drill, whatever happened to it,
 * in bounded time: through the drill's own `client` when it can still be
 * used (within `timeoutMs`: after a server reboot, REMOVE waits for the
 * grace period to end), else through a new client from `connect` (within
 * `fallbackTimeoutMs`, closed afterwards), since the drill's client was
 * dropped in the middle of recovery or crashed on purpose.
 */
export async function cleanUpDrillFile(
  target: DrillFile,
  options: {
    /** The drill's own client; undefined when it cannot be used any more. */
    readonly client: Nfs4ClientApi | undefined;
    readonly file?: WritableFile | undefined;
    readonly written: WrittenRange | undefined;
    readonly timeoutMs: number;
    readonly connect: () => Promise<Nfs4ClientApi>;
    readonly fallbackTimeoutMs: number;
  },
): Promise<DrillFileCleanup> {
  const { client, written } = options;
  const own = client !== undefined;
  const ms = own ? options.timeoutMs : options.fallbackTimeoutMs;
  // Cleanup: not stopped by the soft stop that ended the work (Ctrl-C).
  const work = cleanupWork(() =>
    own ? endDrillFile(client, target, { file: options.file, written }) : (async () => {
      const fresh = await options.connect();
      try {
        return await endDrillFile(fresh, target, { written });
      } finally {
        await fresh.close().catch(() => {});
      }
    })()
  );
  const outcome = await settleWithin(work, ms);
  switch (outcome.kind) {
    case "ok":
      return { kind: "done", end: outcome.value };
    case "error":
      return { kind: "failed", error: outcome.error };
    default:
      return { kind: "timeout", ms, busy: own };
  }
}
