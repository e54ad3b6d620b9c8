/**
 * What a copy takes for the same file on a server (lib/client/copy/nfs_side.ts
 * fileIdentity): a fileid is unique only within one file system (RFC 7530
 * §5.8.1.9, RFC 8881 §5.8.1.9), and a server exporting nested ones (knfsd
 * crossmnt, ZFS datasets, btrfs snapshots; ext4 roots are all inode 2)
 * repeats fileids across fsids. Two files with one fileid on two fsids are
 * two files: a nested file system is no directory cycle, and `-a` does not
 * make two of its files hard links of each other. One fileid on one fsid is
 * one file still: a cycle through `-L` is not entered, hard links are kept.
 *
 * Against an in-memory server ({@linkcode FakeServer}) whose entries carry
 * the fileid and fsid a test gives them, copied to a local directory.
 */

import assert from "node:assert/strict";
import type { Nfs4ClientApi, OpenFile } from "../../lib/client/api.ts";
import { copy, DEFAULT_TUNING, parseLocation } from "../../lib/client/copy/mod.ts";
import type { CopyOptions } from "../../lib/client/copy/options.ts";
import { NfsSide } from "../../lib/client/copy/nfs_side.ts";
import type { FileInfo } from "../../lib/client/types.ts";
import { parseNfsUrl } from "../../lib/client/url.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";

// ------------------------------------------------------------------ fixtures

/** One object of the fake server, by its path from the pseudo-fs root. */
interface Entry {
  readonly kind: "directory" | "file" | "symlink";
  readonly fileid: bigint;
  /** `major:minor`, as FileInfo has it; absent: the server does not give fsids. */
  readonly fsid?: string;
  readonly nlink?: number;
  readonly data?: string;
  /** A symlink's target: an absolute path of this server. */
  readonly target?: string;
}

const MTIME = new Date("2024-11-20T12:00:00Z");

/**
 * The part of a client a copy from a server uses (stat, readdir, readlink,
 * openRead), over a flat table of paths. Symlinks are followed at the last
 * component only, with `follow`.
 */
class FakeServer {
  readonly minorVersion = 1;
  readonly #entries: Readonly<Record<string, Entry>>;

  constructor(entries: Readonly<Record<string, Entry>>) {
    this.#entries = entries;
  }

  #entry(path: string, op: string): Entry {
    const entry = this.#entries[path];
    if (!entry) throw new NfsError(S.NFS4ERR_NOENT, op, { path });
    return entry;
  }

  #info(path: string, entry: Entry): FileInfo {
    const size = BigInt(new TextEncoder().encode(entry.data ?? entry.target ?? "").length);
    const info: FileInfo = {
      name: path.slice(path.lastIndexOf("/") + 1),
      path,
      kind: entry.kind,
      mode: entry.kind === "file" ? 0o644 : 0o755,
      nlink: entry.nlink ?? (entry.kind === "directory" ? 2 : 1),
      owner: "1000",
      group: "1000",
      size,
      spaceUsed: (size + 4095n) / 4096n * 4096n,
      atime: MTIME,
      mtime: MTIME,
      ctime: MTIME,
      fileid: entry.fileid,
    };
    return entry.fsid !== undefined ? { ...info, fsid: entry.fsid } : info;
  }

  stat(path: string, options: { follow?: boolean } = {}): Promise<FileInfo> {
    try {
      let at = path.replace(/\/+$/, "");
      let entry = this.#entry(at, "LOOKUP");
      if (options.follow && entry.kind === "symlink") {
        at = entry.target!;
        entry = this.#entry(at, "LOOKUP");
      }
      return Promise.resolve(this.#info(at, entry));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  async *readdir(path: string): AsyncIterable<FileInfo> {
    const dir = path.replace(/\/+$/, "");
    if (this.#entry(dir, "READDIR").kind !== "directory") {
      throw new NfsError(S.NFS4ERR_NOTDIR, "READDIR", { path });
    }
    for (const [at, entry] of Object.entries(this.#entries)) {
      if (at.slice(0, at.lastIndexOf("/")) === dir) yield this.#info(at, entry);
    }
  }

  readlink(path: string): Promise<string> {
    const entry = this.#entries[path];
    return entry?.kind === "symlink"
      ? Promise.resolve(entry.target!)
      : Promise.reject(new NfsError(S.NFS4ERR_INVAL, "READLINK", { path }));
  }

  openRead(path: string): Promise<OpenFile> {
    const entry = this.#entries[path];
    if (entry?.kind !== "file") {
      return Promise.reject(new NfsError(S.NFS4ERR_INVAL, "OPEN", { path }));
    }
    const data = new TextEncoder().encode(entry.data ?? "");
    return Promise.resolve({
      path,
      size: BigInt(data.length),
      read(offset: bigint, count: number) {
        const start = Number(offset);
        const slice = data.slice(start, start + count);
        return Promise.resolve({ data: slice, eof: start + slice.length >= data.length });
      },
      async *chunks() {
        yield data.slice();
      },
      close: () => Promise.resolve(),
    });
  }

  sessionSlots(): number | undefined {
    return undefined;
  }

  close(): Promise<void> {
    return Promise.resolve();
  }

  /** As a client for the copy (the other calls are not made by a copy from it). */
  asClient(): Nfs4ClientApi {
    return this as unknown as Nfs4ClientApi;
  }
}

const dir = (fileid: bigint, fsid?: string): Entry => ({
  kind: "directory",
  fileid,
  ...(fsid !== undefined ? { fsid } : {}),
});
const file = (fileid: bigint, data: string, nlink: number, fsid?: string): Entry => ({
  kind: "file",
  fileid,
  data,
  nlink,
  ...(fsid !== undefined ? { fsid } : {}),
});

/** Copies `source` (a path of `server`) to a new local directory; the errors said, by message. */
async function copyOut(
  server: FakeServer,
  source: string,
  options: Partial<CopyOptions>,
  check: (dest: string, errors: string[]) => Promise<void>,
): Promise<void> {
  const tmp = await Deno.makeTempDir({ prefix: "nfs4-copy-identity-" });
  try {
    const dest = `${tmp}/out`;
    const errors: string[] = [];
    await copy([parseLocation(`nfs://fake${source}`)], parseLocation(dest), {
      recursive: true,
      ...options,
      connect: () => Promise.resolve(server.asClient()),
      onError: (e) => errors.push(e instanceof Error ? e.message : String(e)),
    });
    await check(dest, errors);
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}

/** A file system nested in /vfs/src (its root has /vfs/src's fileid, as ext4 roots do). */
const NESTED: Readonly<Record<string, Entry>> = {
  "/vfs": dir(1n, "1:0"),
  "/vfs/src": dir(2n, "1:0"),
  "/vfs/src/a": file(50n, "on the outer file system", 2, "1:0"),
  // c and d: two names of one file.
  "/vfs/src/c": file(60n, "linked", 2, "1:0"),
  "/vfs/src/d": file(60n, "linked", 2, "1:0"),
  "/vfs/src/nested": dir(2n, "7:3"),
  // a's fileid, with another link elsewhere on its own file system.
  "/vfs/src/nested/b": file(50n, "on the nested file system", 2, "7:3"),
};

// ------------------------------------------------------------------ tests

Deno.test("copy identity: one fileid on two fsids is two files, on one fsid one", async () => {
  const url = parseNfsUrl("nfs://fake/vfs");
  const idsOf = async (entries: Readonly<Record<string, Entry>>, paths: string[]) => {
    const side = new NfsSide(new FakeServer(entries).asClient(), url, DEFAULT_TUNING, () => {});
    return await Promise.all(paths.map(async (path) => (await side.stat(path, false))?.id));
  };
  const [outer, nested, a, b, c, d] = await idsOf(NESTED, [
    "/vfs/src",
    "/vfs/src/nested",
    "/vfs/src/a",
    "/vfs/src/nested/b",
    "/vfs/src/c",
    "/vfs/src/d",
  ]);
  assert.notEqual(outer, undefined);
  assert.notEqual(outer, nested);
  assert.notEqual(a, b);
  assert.equal(c, d);
  // Listed (READDIR) as stat'ed (GETATTR): the same ids.
  const side = new NfsSide(new FakeServer(NESTED).asClient(), url, DEFAULT_TUNING, () => {});
  const listed = new Map<string, string | undefined>();
  for await (const entry of side.list("/vfs/src")) listed.set(entry.name, entry.id);
  assert.equal(listed.get("nested"), nested);
  assert.equal(listed.get("a"), a);

  // A server without fsids: the fileid (per export) alone, as before.
  const [x, y] = await idsOf({
    "/vfs": dir(1n),
    "/vfs/x": file(9n, "x", 2),
    "/vfs/y": file(9n, "x", 2),
  }, ["/vfs/x", "/vfs/y"]);
  assert.notEqual(x, undefined);
  assert.equal(x, y);

  // An export whose name holds `:` and no fsid is not the same as another
  // export's file whose fsid would spell that name.
  const [plain, spelled] = await idsOf({
    "/a": dir(5n, "1:2"),
    "/a:1:2": dir(5n),
  }, ["/a", "/a:1:2"]);
  assert.notEqual(plain, undefined);
  assert.notEqual(plain, spelled);
});

Deno.test("copy identity: a nested file system with its parent's fileid is copied, no cycle", async () => {
  await copyOut(new FakeServer(NESTED), "/vfs/src", {}, async (dest, errors) => {
    assert.deepEqual(errors, []);
    assert.equal(await Deno.readTextFile(`${dest}/nested/b`), "on the nested file system");
    assert.equal(await Deno.readTextFile(`${dest}/a`), "on the outer file system");
  });
});

Deno.test("copy identity: -L still stops at a directory that is its own ancestor (one fsid)", async () => {
  const server = new FakeServer({
    ...NESTED,
    // Back up to src from inside the nested file system: src itself.
    "/vfs/src/nested/up": { kind: "symlink", fileid: 70n, target: "/vfs/src", fsid: "7:3" },
  });
  await copyOut(server, "/vfs/src", { dereference: "always" }, async (dest, errors) => {
    assert.equal(errors.length, 1, errors.join("\n"));
    assert.match(errors[0]!, /\/vfs\/src\/nested\/up: directory cycle/);
    assert.equal(await Deno.readTextFile(`${dest}/nested/b`), "on the nested file system");
    await assert.rejects(Deno.lstat(`${dest}/nested/up`), Deno.errors.NotFound);
  });
});

Deno.test("copy identity: --preserve=links links one fileid on one fsid, not on two", async () => {
  await copyOut(
    new FakeServer(NESTED),
    "/vfs/src",
    { preserve: { links: true } },
    async (dest, errors) => {
      assert.deepEqual(errors, []);
      // Before: b became a hard link of a's copy, a's data under b's name.
      assert.equal(await Deno.readTextFile(`${dest}/a`), "on the outer file system");
      assert.equal(await Deno.readTextFile(`${dest}/nested/b`), "on the nested file system");
      const [a, b, c, d] = await Promise.all(
        ["a", "nested/b", "c", "d"].map((name) => Deno.lstat(`${dest}/${name}`)),
      );
      assert.notEqual(a!.ino, b!.ino);
      assert.equal(a!.nlink, 1);
      assert.equal(c!.ino, d!.ino);
      assert.equal(c!.nlink, 2);
    },
  );
});
