/**
 * One NFS server as a copy `Side`, through the file-level client API.
 * @module
 */

import type { DecodedFattr, SettableAttributes } from "../../nfs4/attrs.ts";
import { NfsError } from "../../nfs4/errors.ts";
import { Attr } from "../../nfs4/attrs.ts";
import { type Nfs4Op, tapped } from "../../nfs4/compound.ts";
import { getattr } from "../../nfs4/ops/getattr.ts";
import { link } from "../../nfs4/ops/link.ts";
import { lookup } from "../../nfs4/ops/lookup.ts";
import { putfh } from "../../nfs4/ops/putfh.ts";
import { putrootfh } from "../../nfs4/ops/putrootfh.ts";
import { remove } from "../../nfs4/ops/remove.ts";
import { savefh } from "../../nfs4/ops/savefh.ts";
import { lookUpOutcome, settleUnknownOutcome } from "../../state/exactly_once.ts";
import {
  type CreateSupport,
  knownCreateSupport,
  learnCreateSupport,
  noteCreateSupport,
} from "../../state/files.ts";
import { Nfs4Status as S } from "../../nfs4/status.ts";
import type { FileHandle, NfsTime } from "../../nfs4/types.ts";
import type { Nfs4ClientApi } from "../api.ts";
import { Nfs4Client, type Placing, SMALL_CREATE_BYTES } from "../client.ts";
import type { FileInfo } from "../types.ts";
import { DirectoryHandles, openReadAhead } from "../small_file.ts";
import { formatHost, type NfsUrl, urlForPath } from "../url.ts";
import { childPath, nameOfComponent, namesOfPath } from "../names.ts";
import { CopyError, type CopyTuning } from "./options.ts";
import {
  type CreateOptions,
  type DirEntry,
  type Ownership,
  type Reader,
  type Side,
  type SpecialKind,
  type Stat,
  timeFromDate,
  timeFromNs,
  type Writer,
} from "./side.ts";
import { type OwnerKind, serverOwner } from "./owners.ts";
import { ownerDomain } from "../owner_domain.ts";
import { pipelinedRead, seekedRead } from "./nfs_read.ts";
import { endOfData } from "../read_progress.ts";
import { readAheadDepth } from "../byte_range.ts";
import { concat, NfsWriter, type WriteTarget } from "./nfs_writer.ts";
import { DeferredCreateWriter } from "./nfs_create.ts";

/** What an NfsFile has beyond the interface (sizes, and SETATTR of any settable attribute). */
export type FileExtras = {
  readonly rsize?: number;
  readonly wsize?: number;
  setattr(attrs: SettableAttributes): Promise<void>;
};

export const FILE_SYNC4 = 2;

/** What a copy reads back of a file it gave an owner (RFC 7530 §5.9). */
const OWNERSHIP_ATTRS: readonly number[] = [Attr.OWNER, Attr.OWNER_GROUP];

/** Files up to this size are read with their OPEN (openReadAhead). */
const SMALL_FILE_BYTES = 64 * 1024;

/**
 * The `Stat.id` of a file of the server at `url`, what a directory cycle
 * (tree.ts) and hard links kept (nodes.ts) are told by. A fileid is unique
 * only within one file system (RFC 7530 §5.8.1.9, RFC 8881 §5.8.1.9): a
 * server exporting nested ones (knfsd crossmnt, ZFS datasets, btrfs
 * snapshots; ext4 roots are all inode 2) repeats fileids across fsids, so
 * the fsid is part of it, as in lib/client/walk.ts. Without one (a REQUIRED
 * attribute, RFC 7530 §5.6, that a broken server may not give) server,
 * export and fileid. The export is URI-encoded, and the two forms are told
 * apart by their `/fsid:` and `/export:` parts.
 */
function fileIdentity(
  url: NfsUrl,
  server: string | undefined,
  info: FileInfo,
): string | undefined {
  if (info.fileid === undefined) return undefined;
  // The server as it is, not as its URL spells it (`localhost` and
  // `127.0.0.1`; Nfs4Client.serverIdentity), and with an fsid no export
  // name: a file of one file system is the same reached through any path
  // (a hard link under another export, an alias). Copying a file onto
  // itself through two spellings truncated it.
  const place = `nfs:${server ?? `${formatHost(url.host)}:${url.port}`}`;
  return info.fsid !== undefined
    ? `${place}/fsid:${info.fsid}/${info.fileid}`
    : `${place}/export:${encodeURIComponent(info.path.split("/")[1] ?? "")}/${info.fileid}`;
}

export class NfsSide implements Side {
  readonly kind = "nfs" as const;
  readonly url: NfsUrl;
  /**
   * NFSv4 has no block size attribute; 4 KiB is the block of the file
   * systems servers export (ext4, xfs), so smaller holes would be none.
   */
  readonly holeBlock = 4096;
  readonly client: Nfs4ClientApi;
  readonly #tuning: CopyTuning;
  readonly #onResend: (count: number) => void;
  /** The server refused a LINK as unsupported: names are placed by RENAME after a check. */
  #noHardLinks = false;
  /** Directory handles walked for reading small files by name (this copy only). */
  readonly #dirs = new DirectoryHandles();
  /**
   * Directory handles walked for writing into (destinations checked,
   * temporaries created and renamed by name from them, this copy only): apart from the reads', whose
   * cache keeps a directory that was not there for good, while a copy makes
   * its directories as it goes.
   */
  readonly #writeDirs = new DirectoryHandles();
  /** The domain of the server's `user@domain` owner strings, once one was seen. */
  #ownerDomain: string | undefined;
  /** What the destination's file system lets a file be given, asked once ({@linkcode supportsMode}). */
  #support: Promise<CreateSupport | undefined> | undefined;
  /**
   * The owner and group of a writer's file, read in a request of it sent
   * anyway (renameNoReplace's LINK), for {@linkcode ownership} to answer
   * with no request of its own.
   */
  readonly #ownershipRead = new WeakMap<Writer, Ownership>();
  /**
   * The owner and group {@linkcode setOwner} read back in its SETATTR's
   * COMPOUND, by path, for the {@linkcode ownership} that follows it to
   * answer once with no request of its own.
   */
  readonly #ownershipSet = new Map<string, Ownership>();

  constructor(
    client: Nfs4ClientApi,
    url: NfsUrl,
    tuning: CopyTuning,
    onResend: (count: number) => void,
  ) {
    this.client = client;
    this.url = url;
    this.#tuning = tuning;
    this.#onResend = onResend;
  }

  display(path: string): string {
    return urlForPath(this.url, path);
  }

  /**
   * An NfsError naming a path of this server, named by its full URL: with
   * two servers in one copy, the message must say which one.
   */
  #named(error: unknown): unknown {
    if (error instanceof NfsError && error.path?.startsWith("/")) {
      return error.withPath(this.display(error.path));
    }
    return error;
  }

  guardTree(resolvedPath: string): (() => void) | undefined {
    return this.client.guardTree?.(resolvedPath);
  }

  async #call<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw this.#named(e);
    }
  }

  // Paths here are client paths, names are names: a name's own `/` is
  // U+DC2F in a path and `/` again in a name (lib/client/names.ts), so a
  // name crosses to another side (a local directory) as the name it is.
  join(dir: string, name: string): string {
    return childPath(dir, name);
  }

  dirname(path: string): string {
    const at = path.lastIndexOf("/");
    return at <= 0 ? "/" : path.slice(0, at);
  }

  basename(path: string): string {
    return nameOfComponent(path.slice(path.lastIndexOf("/") + 1));
  }

  #stat(info: FileInfo, path: string): Stat {
    // A server that maps owners to names says so in every owner string.
    this.#ownerDomain ??= ownerDomain(info.owner);
    return {
      kind: info.kind,
      size: info.size,
      mode: info.mode,
      // nfstime4 exactly (a Date would keep milliseconds only).
      mtime: info.mtimeNs !== undefined ? timeFromNs(info.mtimeNs) : timeFromDate(info.mtime),
      atime: info.atimeNs !== undefined ? timeFromNs(info.atimeNs) : timeFromDate(info.atime),
      id: fileIdentity(this.url, this.client.serverIdentity?.(), info),
      inode: info.fileid,
      path,
      linkTarget: info.linkTarget,
      nlink: info.nlink,
      owner: info.owner,
      group: info.group,
      allocated: info.spaceUsed,
      rdev: info.rdev,
    };
  }

  async stat(path: string, follow: boolean): Promise<Stat | undefined> {
    try {
      // Not following: by name from the directory's handle (one walk per
      // directory for the copy, Nfs4Client.statIn), the same answer.
      const info = !follow && this.client instanceof Nfs4Client
        ? await this.client.statIn(path, this.#writeDirs)
        : await this.client.stat(path, { follow });
      return this.#stat(info, info.path);
    } catch (e) {
      if (this.isNotFound(e)) return undefined;
      throw this.#named(e);
    }
  }

  async *list(path: string): AsyncIterable<DirEntry> {
    try {
      for await (const info of this.client.readdir(path)) {
        const entryPath = this.join(path, info.name);
        const stat = this.#stat(info, entryPath);
        yield info.attrError === undefined ? { ...stat, name: info.name } : {
          ...stat,
          name: info.name,
          attrError: this.#named(new NfsError(info.attrError, "READDIR", { path: entryPath })),
        };
      }
    } catch (e) {
      throw this.#named(e);
    }
  }

  readlink(path: string): Promise<string> {
    return this.#call(() => this.client.readlink(path));
  }

  async openReader(path: string, stat: Stat): Promise<Reader> {
    // A small file comes with its OPEN (one COMPOUND on NFSv4.1, OPEN to
    // CLOSE: lib/client/small_file.ts), its directory walked once per copy.
    const file = await this.#call(() =>
      stat.size !== undefined && stat.size <= SMALL_FILE_BYTES
        ? openReadAhead(this.client, path, { count: SMALL_FILE_BYTES, directories: this.#dirs })
        : this.client.openRead(path)
    );
    const extras = file as unknown as Partial<FileExtras>;
    const rsize = extras.rsize ?? 1024 * 1024;
    const slots = this.client.sessionSlots();
    // No more READs than the read ahead's bytes hold (four of 1 MiB), nor
    // than the tuning or the session's slots (one kept for other calls) allow.
    const depth = readAheadDepth(
      rsize,
      Math.min(this.#tuning.readDepth, slots !== undefined ? slots - 1 : Infinity),
    );
    const size = file.size ?? stat.size;
    const named = (e: unknown) => this.#named(e);
    return {
      async *chunks() {
        try {
          yield* pipelinedRead(file, size, rsize, depth);
        } catch (e) {
          throw named(e);
        }
      },
      async readAt(offset, length) {
        const parts: Uint8Array[] = [];
        let got = 0;
        while (got < length) {
          const at = offset + BigInt(got);
          const reply = await file.read(at, length - got).catch((e) => {
            throw named(e);
          });
          parts.push(reply.data);
          got += reply.data.length;
          if (endOfData(file.path, at, size, reply)) break;
        }
        return parts.length === 1 ? parts[0]! : concat(parts, got);
      },
      ...(file.seek && size !== undefined
        ? {
          // 4.2: holes found with SEEK, never read (the caller decides when to ask).
          async *segments() {
            try {
              yield* seekedRead(
                { path: file.path, read: (o, c) => file.read(o, c), seek: file.seek! },
                size,
                rsize,
                depth,
              );
            } catch (e) {
              throw named(e);
            }
          },
        }
        : {}),
      close: () => file.close(),
    };
  }

  /**
   * False when the file system `dir` is on does not list `mode` in its
   * supported_attrs (RFC 7530 §5.8.1.1, RFC 8881 §5.8.1.1: an ACL-only
   * volume): every create and SETATTR of a mode would be refused
   * (NFS4ERR_ATTRNOTSUPP). Asked once per copy, of the first directory
   * written into (`PUTROOTFH LOOKUP... GETATTR(supported_attrs,
   * suppattr_exclcreat)`, or through the client's walk when that fails), and
   * noted for the client's creates (lib/state/files.ts noteCreateSupport:
   * the temporary's createattrs leave the mode out, EXCLUSIVE4_1 sends what
   * suppattr_exclcreat allows). Not known (the server does not say, or the
   * question failed): true, as before.
   */
  async supportsMode(dir: string): Promise<boolean> {
    const supported = (await this.#attributeSupport(dir))?.supported;
    return supported === undefined || supported.has(Attr.MODE);
  }

  #attributeSupport(dir: string): Promise<CreateSupport | undefined> {
    return this.#support ??= this.#askSupport(dir).catch(() => undefined);
  }

  async #askSupport(dir: string): Promise<CreateSupport | undefined> {
    const client = this.client;
    if (!(client instanceof Nfs4Client)) return undefined;
    const m = client.manager;
    const known = knownCreateSupport(m);
    if (known?.supported) return known;
    const wanted = m.minorVersion > 0
      ? [Attr.SUPPORTED_ATTRS, Attr.SUPPATTR_EXCLCREAT]
      : [Attr.SUPPORTED_ATTRS];
    const names = namesOfPath(dir);
    // One COMPOUND where the session takes it and no component is a
    // symlink (LOOKUP does not follow one); else the client's own walk.
    const ops = m.client.session?.fore.maxOperations ?? 16;
    if (names.length + 3 <= Math.min(ops, 16)) {
      try {
        const results = await m.run(() =>
          [putrootfh(), ...names.map((n) => lookup(n)), getattr(wanted)] as Nfs4Op<unknown>[]
        );
        const fattr = results.at(-1) as DecodedFattr;
        const support = {
          supported: fattr.attrs.supportedAttrs,
          exclusive: fattr.attrs.suppattrExclcreat,
        };
        noteCreateSupport(m, support);
        return support;
      } catch {
        // Walked the client's way below.
      }
    }
    const report = await client.attributes(dir, { follow: true });
    return await learnCreateSupport(m, report.filehandle);
  }

  create(path: string, options: CreateOptions = {}): Promise<Writer> {
    const client = this.client;
    if (!(client instanceof Nfs4Client) || !client.manager.sessions || options.atOnce) {
      return this.#createNow(path);
    }
    // Where hard links work, the final name may be taken in the same COMPOUND.
    const placeAs = this.#noHardLinks ? undefined : options.placeAs;
    // NFSv4.1: the OPEN waits for the data, so that a small file is made,
    // written and closed in one COMPOUND (nfs_create.ts).
    return Promise.resolve(
      new DeferredCreateWriter({
        path: this.display(path),
        url: this.url,
        isRefusal: (e) => this.isDenied(e),
        ...(placeAs !== undefined ? { placedAs: this.display(placeAs) } : {}),
        limit: SMALL_CREATE_BYTES,
        chunkSize: this.#tuning.chunkSize,
        create: () => this.#createNow(path),
        createInOne: (data, settable, owner) =>
          this.#call(async () => {
            const end = await client.createWriteCloseIn(
              path,
              {
                mode: 0o600,
                directories: this.#writeDirs,
                ...(placeAs !== undefined ? { placeAs } : {}),
                ...(owner !== undefined ? { owner } : {}),
              },
              data,
              settable,
            );
            // Failures handed back rather than thrown are named here too.
            if (end && !end.done && end.ownerError !== undefined) {
              // Numbers refused by a server that maps names: its domain
              // learned, the ordinary writer gives them as names (its chown).
              const { ownerError, ...rest } = end;
              if (
                owner &&
                await this.#namesAfterRefusal(path, owner.owner, owner.ownerGroup, ownerError)
              ) {
                return rest;
              }
              return { ...rest, ownerError: this.#named(ownerError) };
            }
            if (end?.done && end.commitError !== undefined) {
              return { ...end, commitError: this.#named(end.commitError) };
            }
            return end;
          }),
        writerFor: (file) => this.#writerFor(file),
      }),
    );
  }

  /** The ordinary create: the OPEN now, and its writer. */
  async #createNow(path: string): Promise<NfsWriter> {
    // An exclusive create (EXCLUSIVE4_1, RFC 8881 §18.16.3; on 4.0 EXCLUSIVE4,
    // RFC 7530 §16.16.5, the mode set right after) survives a resent OPEN:
    // the server finds the file by its verifier, even after a reconnect that
    // its per-connection duplicate request cache does not cover (a GUARDED4
    // resend would meet NFS4ERR_EXIST). The temporary's name is ours alone.
    // The OPEN goes by name from the directory's handle, walked once per
    // directory for this copy (Nfs4Client.createExclusiveIn).
    // A file system without modes gets none (supportsMode): on 4.1 the
    // client's create leaves it out (noted support); 4.0's EXCLUSIVE4 would
    // SETATTR it after the OPEN, so the create asks for none.
    const client = this.client;
    const noMode = client.minorVersion === 0 && !await this.supportsMode(this.dirname(path));
    const file = await this.#call(() =>
      client instanceof Nfs4Client && !noMode
        ? client.createExclusiveIn(path, { mode: 0o600, directories: this.#writeDirs })
        : client.open(path, {
          access: "write",
          create: "exclusive",
          ...(noMode ? {} : { mode: 0o600 }),
        })
    );
    return this.#writerFor(file);
  }

  /** The writer of a temporary this side created (exclusive). */
  #writerFor(file: WriteTarget): NfsWriter {
    return namingOwners(
      new NfsWriter(file, {
        named: (e) => this.#named(e),
        depth: this.#tuning.writeDepth,
        commitBytes: this.#tuning.commitBytes,
        // The server keeps an exclusive create's verifier in the times until they are set.
        resetTimes: true,
        // A temporary: a file of one WRITE ends in one COMPOUND (4.1; 4.0: and a CLOSE).
        endInOne: true,
        onResend: this.#onResend,
      }),
      file.path,
      this.#ownersGiven,
    );
  }

  async openExisting(path: string): Promise<Writer> {
    // OPEN without create, which changes no data; the SETATTR of size 0
    // that empties it (RFC 7530 §16.16: OPEN's truncation is a SETATTR of
    // size) is the writer's first step (`empty`), for the copy to tell a
    // failure before it (the file as it was) from one after it (the file
    // incomplete). The file keeps owner, mode and links.
    const file = await this.#call(() => this.client.open(path, { access: "write" }));
    return namingOwners(
      new NfsWriter(file, {
        named: (e) => this.#named(e),
        depth: this.#tuning.writeDepth,
        commitBytes: this.#tuning.commitBytes,
        onResend: this.#onResend,
        toEmpty: file.size !== 0n,
      }),
      file.path,
      this.#ownersGiven,
    );
  }

  mkdir(path: string, mode: number): Promise<void> {
    return this.#call(() => this.client.mkdir(path, mode));
  }

  symlink(path: string, target: string): Promise<void> {
    return this.#call(() => this.client.symlink(path, target));
  }

  rename(from: string, to: string): Promise<void> {
    return this.#call(() =>
      (this.client instanceof Nfs4Client
        ? this.client.renameIn(from, to, this.#writeDirs)
        : this.client.rename(from, to)).catch((e) => {
          throw e instanceof NfsError && e.path === from ? e.withPath(to) : e;
        })
    );
  }

  async renameNoReplace(
    from: string,
    to: string,
    writer?: Writer,
    readOwnership = false,
  ): Promise<boolean> {
    // LINK fails with NFS4ERR_EXIST when the name is taken (RFC 7530 §16.9,
    // RFC 8881 §18.9): the final name is created only if absent, as GUARDED4
    // would. The temporary's name goes in the same COMPOUND: REMOVE runs
    // only once LINK has succeeded (a COMPOUND stops at its first failure,
    // RFC 7530 §15.2, RFC 8881 §16.2.3).
    const placement = writer instanceof DeferredCreateWriter ? writer.placement() : undefined;
    const state = writer instanceof NfsWriter ? writer.state : placement;
    const placing = placement?.placing;
    if (placing && state?.parentFh && this.client instanceof Nfs4Client) {
      const placed = await this.#afterPlacing(placing, from, to, state.parentFh, state.fh);
      if (placed !== undefined) return placed;
    }
    if (state?.parentFh && this.client instanceof Nfs4Client && !this.#noHardLinks) {
      const dirFh = state.parentFh;
      const fileFh = state.fh;
      const manager = this.client.manager;
      const name = this.basename(to);
      let linked = false;
      let doneBefore = false;
      // The owner and group the file holds (cp -p reads them back: a server
      // may have answered their SETATTR NFS4_OK and kept others), in this
      // COMPOUND rather than one of their own, unless the writer's replies
      // said them: before the LINK, which a failed GETATTR stops (RFC 7530
      // §15.2), so a refused GETATTR sends the COMPOUND again without it
      // (nothing after it ran) and the read-back asks on its own later.
      let askOwnership = readOwnership && writer !== undefined && !writer.heldOwnership?.();
      const held = () =>
        askOwnership && writer
          ? [tapped(getattr(OWNERSHIP_ATTRS), (v) => {
            this.#ownershipRead.set(writer, { owner: v.attrs.owner, group: v.attrs.ownerGroup });
          })]
          : [];
      const linkAndRemove = () =>
        settleUnknownOutcome(
          manager,
          "LINK",
          this.display(to),
          () =>
            manager.run(
              () =>
                [
                  putfh(fileFh),
                  ...held(),
                  savefh(),
                  putfh(dirFh),
                  tapped(link(name), () => linked = true),
                  remove(this.basename(from)),
                ] as const,
              // Once LINK has run the COMPOUND is never sent again as a whole
              // (the manager would resend one whose REMOVE met DELAY or
              // GRACE, and the LINK would meet its own name): the REMOVE's
              // failure comes back here and goes alone.
              { final: { has: () => linked } },
            ),
          // A resend that met its own first LINK (NFS4ERR_EXIST): done when
          // the name is this very file.
          async () => doneBefore = await this.#names(dirFh, name, fileFh),
        );
      try {
        try {
          await linkAndRemove();
        } catch (e) {
          if (linked || !askOwnership || !(e instanceof NfsError && e.op === "GETATTR")) throw e;
          askOwnership = false;
          await linkAndRemove();
        }
      } catch (e) {
        if (linked) {
          // Placed; only the temporary's name is left.
          await this.remove(from);
          return true;
        }
        const answered = await this.#linkRefused(e, from, to);
        if (answered !== undefined) return answered;
        throw e instanceof NfsError ? e.withPath(this.display(to)) : e;
      }
      // Whether the first COMPOUND got as far as its REMOVE is not known: the
      // temporary's name goes only if it is still there, still this file (a
      // REMOVE that ran is never sent again).
      if (doneBefore && await this.#names(dirFh, this.basename(from), fileFh)) {
        await this.remove(from);
      }
      return true;
    }
    return await this.#checkThenRename(from, to);
  }

  /**
   * Finishes a placing the file's own COMPOUND tried (CreateOptions.placeAs,
   * lib/state/small_create.ts): true or false as renameNoReplace answers;
   * undefined for the usual LINK: when the LINK did not run (an op before
   * it stopped the COMPOUND), or failed with a status that LINK may meet
   * again or not (anything but NFS4ERR_EXIST, NOTSUPP, PERM).
   */
  async #afterPlacing(
    placing: Placing,
    from: string,
    to: string,
    dirFh: FileHandle,
    fileFh: FileHandle,
  ): Promise<boolean | undefined> {
    if (placing.linked === true) {
      // The REMOVE after it failed (or its result could not be read): the
      // temporary's name goes, if it is still there and still this file.
      if (!placing.temporaryRemoved && await this.#names(dirFh, this.basename(from), fileFh)) {
        await this.remove(from);
      }
      return true;
    }
    const error = placing.error;
    const manager = (this.client as Nfs4Client).manager;
    const isThisFile = () => this.#names(dirFh, this.basename(to), fileFh);
    if (placing.linked === "unknown") {
      // The reply could not be read past the CLOSE: the names say whether
      // the LINK ran. Not this file's: it may have run all the same (the
      // name removed since), so it is not sent again; the file fails.
      if (!await lookUpOutcome(manager, "LINK", this.display(to), isThisFile)) {
        const why = error instanceof Error ? error.message : String(error);
        throw new CopyError(
          `cannot create regular file '${this.display(to)}': the server's answer to its LINK ` +
            `could not be read, and the name is not this file: ${why}`,
          { url: this.url, cause: error },
        );
      }
      if (await this.#names(dirFh, this.basename(from), fileFh)) await this.remove(from);
      return true;
    }
    if (!(error instanceof NfsError) || error.op !== "LINK") return undefined;
    if (this.isExists(error) && error.answeredResend) {
      // Sent again after its first transmission went unanswered: the name
      // may be this very file (a server that found the resent OPEN's file
      // by its verifier); else the first run may have taken it (file.ts
      // says so), and the temporary goes as for any failure.
      if (!await lookUpOutcome(manager, "LINK", this.display(to), isThisFile)) {
        throw error.withPath(this.display(to));
      }
      if (await this.#names(dirFh, this.basename(from), fileFh)) await this.remove(from);
      return true;
    }
    return await this.#linkRefused(error, from, to);
  }

  /**
   * What a LINK of the temporary `from` to `to` refused means: the name is
   * taken (NFS4ERR_EXIST): the temporary goes, false; no hard links here
   * (NFS4ERR_NOTSUPP, or NFS4ERR_PERM: Linux's vfs_link on a file system
   * without them, vfat say): checked, then renamed (a narrow race remains),
   * for this file and the next. Undefined for any other failure.
   */
  async #linkRefused(error: unknown, from: string, to: string): Promise<boolean | undefined> {
    if (this.isExists(error)) {
      await this.remove(from).catch(() => undefined);
      return false;
    }
    if (
      error instanceof NfsError && error.op === "LINK" &&
      (error.status === S.NFS4ERR_NOTSUPP || error.status === S.NFS4ERR_PERM)
    ) {
      this.#noHardLinks = true;
      return await this.#checkThenRename(from, to);
    }
    return undefined;
  }

  /** Whether `name` in the directory `dirFh` is the file `fileFh` (the same fileid). */
  async #names(dirFh: FileHandle, name: string, fileFh: FileHandle): Promise<boolean> {
    const manager = (this.client as Nfs4Client).manager;
    try {
      const [, , named, , own] = await manager.run(() =>
        [
          putfh(dirFh),
          lookup(name),
          getattr([Attr.FILEID]),
          putfh(fileFh),
          getattr([Attr.FILEID]),
        ] as const
      );
      const fileid = own.attrs.fileid;
      return fileid !== undefined && named.attrs.fileid === fileid;
    } catch (e) {
      if (this.isNotFound(e)) return false;
      throw e;
    }
  }

  async #checkThenRename(from: string, to: string): Promise<boolean> {
    if (await this.stat(to, false)) {
      await this.remove(from).catch(() => undefined);
      return false;
    }
    await this.rename(from, to);
    return true;
  }

  remove(path: string): Promise<void> {
    return this.#call(() => this.client.remove(path));
  }

  async checkWritable(path: string): Promise<void> {
    const file = await this.#call(() => this.client.open(path, { access: "write" }));
    await file.close();
  }

  async setAttrs(
    path: string,
    attrs: { mode?: number | undefined; mtime?: NfsTime; atime?: NfsTime },
    follow: boolean,
  ): Promise<void> {
    // No mode where the file system has none (its callers say so once).
    const mode = attrs.mode !== undefined && await this.supportsMode(this.dirname(path))
      ? attrs.mode
      : undefined;
    if (mode === undefined && !attrs.mtime && !attrs.atime) return;
    await this.#call(() =>
      this.client.setattrPath(path, {
        ...(mode !== undefined ? { mode } : {}),
        ...(attrs.mtime ? { timeModifySet: attrs.mtime } : {}),
        ...(attrs.atime ? { timeAccessSet: attrs.atime } : {}),
      }, { follow })
    );
  }

  async setOwner(
    path: string,
    owner: string | undefined,
    group: string | undefined,
    follow: boolean,
  ): Promise<void> {
    if (owner === undefined && group === undefined) return;
    this.#ownershipSet.delete(path);
    const client = this.client;
    // What the server holds then, read in the same COMPOUND (a squashing
    // export answers NFS4_OK and keeps its own): what ownership() compares.
    // Not of a symlink (follow false), whose owner is read with its times.
    const held = await this.#giveOwners(path, owner, group, (owner, group) => {
      const attrs = {
        ...(owner !== undefined ? { owner } : {}),
        ...(group !== undefined ? { ownerGroup: group } : {}),
      };
      return this.#call(() =>
        client instanceof Nfs4Client && follow
          ? client.setattrPath(path, attrs, { follow, readOwnership: true })
          : client.setattrPath(path, attrs, { follow }).then(() => undefined)
      );
    });
    if (held) this.#ownershipSet.set(path, held);
  }

  /**
   * Sends `owner` and `group` with `send` for the file `path`: numbers as
   * `name@domain` once this server's domain is known; refused with
   * NFS4ERR_BADOWNER while numbers went, once more by name, the domain
   * learned from the directory holding `path` ({@linkcode #namesAfterRefusal}).
   */
  async #giveOwners<T>(
    path: string,
    owner: string | undefined,
    group: string | undefined,
    send: (owner: string | undefined, group: string | undefined) => Promise<T>,
  ): Promise<T> {
    const domain = this.#ownerDomain;
    if (domain !== undefined) [owner, group] = await asNames(owner, group, domain);
    try {
      return await send(owner, group);
    } catch (e) {
      const named = await this.#namesAfterRefusal(path, owner, group, e);
      if (!named) throw e;
      return await send(...named);
    }
  }

  /** For namingOwners(): a writer's file's owner and group, given as {@linkcode #giveOwners} does. */
  readonly #ownersGiven: OwnersGiven = (path, owner, group, send) =>
    this.#giveOwners(path, owner, group, send);

  /**
   * What to send again after a SETATTR of `owner` and `group` on `path`
   * failed with `error`: when it is NFS4ERR_BADOWNER and numbers went, the
   * numbers as `name@domain`, the domain the one this server's strings
   * carry (one seen already, else the owner strings of the directory
   * holding `path`), which is kept for the copy's later files. A server
   * that maps owner strings to names may refuse numbers (RFC 7530 §5.9;
   * Ganesha with `Allow_Numeric_Owners = false`, knfsd with idmapping):
   * `nfs4 chown` does the same (cli/chown.ts). Undefined when nothing
   * would change (no domain to be had, no local name for the id): the
   * refusal is the answer.
   */
  async #namesAfterRefusal(
    path: string,
    owner: string | undefined,
    group: string | undefined,
    error: unknown,
  ): Promise<[owner: string | undefined, group: string | undefined] | undefined> {
    const badOwner = error instanceof NfsError && error.status === S.NFS4ERR_BADOWNER;
    if (!badOwner || ![owner, group].some((s) => s !== undefined && NUMERIC_OWNER.test(s))) {
      return undefined;
    }
    const domain = this.#ownerDomain ?? await this.#directoryDomain(this.dirname(path));
    if (domain === undefined) return undefined;
    this.#ownerDomain = domain;
    const named = await asNames(owner, group, domain);
    return named[0] === owner && named[1] === group ? undefined : named;
  }

  /**
   * The domain of the owner strings of the directory `dir` (undefined when
   * they carry none or it cannot be read), asked once per directory.
   */
  #directoryDomain(dir: string): Promise<string | undefined> {
    let domain = this.#directoryDomains.get(dir);
    if (!domain) {
      domain = this.client.stat(dir, { follow: true }).then(
        (info) => ownerDomain(info.owner, info.group),
        () => undefined,
      );
      this.#directoryDomains.set(dir, domain);
    }
    return domain;
  }

  /** {@linkcode #directoryDomain}'s answers, by directory. */
  readonly #directoryDomains = new Map<string, Promise<string | undefined>>();

  async ownership(path: string, follow: boolean, writer?: Writer): Promise<Ownership> {
    if (writer) {
      const known = writer.heldOwnership?.() ?? this.#ownershipRead.get(writer);
      if (known) return known;
      // By the file's handle: the name it was written under may be gone
      // (placed under its final name in the COMPOUND that made it).
      const fh = writer instanceof DeferredCreateWriter
        ? writer.placement()?.fh
        : writer instanceof NfsWriter
        ? writer.state?.fh
        : undefined;
      const client = this.client;
      if (fh && client instanceof Nfs4Client) {
        try {
          const [, attrs] = await client.manager.run(() =>
            [putfh(fh), getattr(OWNERSHIP_ATTRS)] as const
          );
          return { owner: attrs.attrs.owner, group: attrs.attrs.ownerGroup };
        } catch (e) {
          throw e instanceof NfsError ? e.withPath(this.display(path)) : e;
        }
      }
    }
    const set = follow ? this.#ownershipSet.get(path) : undefined;
    if (set) {
      this.#ownershipSet.delete(path);
      return set;
    }
    const now = await this.stat(path, follow);
    if (!now) {
      throw this.#named(new NfsError(S.NFS4ERR_NOENT, "GETATTR", { path }));
    }
    return { owner: now.owner, group: now.group };
  }

  ownerName(text: string, kind: OwnerKind, from: "local" | "nfs"): Promise<string | undefined> {
    // Another server's string goes as it is unless this one wants another form.
    if (from === "nfs" && (this.#ownerDomain === undefined) === !text.includes("@")) {
      return Promise.resolve(text);
    }
    return serverOwner(text, kind, this.#ownerDomain);
  }

  mknod(
    path: string,
    kind: SpecialKind,
    mode: number,
    rdev: { major: number; minor: number } | undefined,
  ): Promise<void> {
    return this.#call(() => this.client.mknod(path, kind, mode, rdev));
  }

  link(existing: string, path: string): Promise<void> {
    return this.#call(() => this.client.link(existing, path));
  }

  isNotFound(error: unknown): boolean {
    return error instanceof NfsError && error.status === S.NFS4ERR_NOENT;
  }

  isExists(error: unknown): boolean {
    return error instanceof NfsError && error.status === S.NFS4ERR_EXIST;
  }

  isDenied(error: unknown): boolean {
    return error instanceof NfsError &&
      (error.status === S.NFS4ERR_ACCESS || error.status === S.NFS4ERR_PERM ||
        error.status === S.NFS4ERR_BADOWNER);
  }
}

/** An owner string that is a number (an id), not `name@domain`. */
const NUMERIC_OWNER = /^\d+$/;

/** `owner` and `group` with their numbers as `name@domain` where this host names the id (serverOwner). */
async function asNames(
  owner: string | undefined,
  group: string | undefined,
  domain: string,
): Promise<[owner: string | undefined, group: string | undefined]> {
  return await Promise.all([
    owner === undefined ? undefined : serverOwner(owner, "user", domain),
    group === undefined ? undefined : serverOwner(group, "group", domain),
  ]);
}

/**
 * How a writer of {@linkcode namingOwners} gives its file's owner and group:
 * `send` called with the strings to send (NfsSide #giveOwners).
 */
type OwnersGiven = <T>(
  path: string,
  owner: string | undefined,
  group: string | undefined,
  send: (owner: string | undefined, group: string | undefined) => Promise<T>,
) => Promise<T>;

/**
 * `writer`, its chown giving numbers to a server that maps owner strings to
 * names as `name@domain` (NfsSide #giveOwners). Its own chown is wrapped
 * rather than overridden in a subclass: nfs_writer.ts is not yet evaluated
 * when this module is (an import cycle), so no class here may extend it.
 */
function namingOwners(writer: NfsWriter, path: string, ownersGiven: OwnersGiven): NfsWriter {
  const chown = writer.chown.bind(writer);
  writer.chown = (owner, group) => ownersGiven(path, owner, group, chown);
  return writer;
}
