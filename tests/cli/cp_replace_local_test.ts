/**
 * Replacing an existing local file: what a temporary renamed over it could
 * not keep or could not do.
 *
 * - A file with extended attributes (a `user.` one here; POSIX ACLs and
 *   SELinux labels are others) is written in place, as GNU cp writes into
 *   it: its attributes and its inode stay. Before, the temporary renamed
 *   over it dropped them.
 * - A bind-mounted file (a mount root) is written in place: rename(2) onto
 *   it fails with EBUSY. Before, `nfs4: FILE: Device or resource busy`.
 * - A temporary that finds no room beside the old file says that
 *   `--inplace` writes into it (which then fits).
 *
 * The last two need root (`mount`), and are skipped without it.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { sha256File, tempDir, temporaries, writeRandom } from "./_cp.ts";
import { messageLines, nfs4 } from "./_spawn.ts";

const isRoot = Deno.uid() === 0;

const encoder = new TextEncoder();
const cString = (text: string) => encoder.encode(`${text}\0`);

/** setxattr(2) and getxattr(2), through FFI (setfattr is not always installed). */
function xattrCalls() {
  const lib = Deno.dlopen("libc.so.6", {
    setxattr: { parameters: ["buffer", "buffer", "buffer", "usize", "i32"], result: "i32" },
    getxattr: { parameters: ["buffer", "buffer", "buffer", "usize"], result: "isize" },
  });
  return {
    set(path: string, name: string, value: string): boolean {
      const bytes = encoder.encode(value);
      return lib.symbols.setxattr(cString(path), cString(name), bytes, BigInt(bytes.length), 0) ===
        0;
    },
    get(path: string, name: string): string | undefined {
      const buffer = new Uint8Array(256);
      const n = Number(lib.symbols.getxattr(cString(path), cString(name), buffer, 256n));
      return n < 0 ? undefined : new TextDecoder().decode(buffer.subarray(0, n));
    },
    close: () => lib.close(),
  };
}

async function run(command: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(command, { args }).output();
  assert.equal(
    out.code,
    0,
    `${command} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`,
  );
}

serverTest(
  "nfs4 cp URL FILE: an existing local file with extended attributes is written in place, " +
    "keeping them and its inode (as GNU cp)",
  async (server) => {
    const local = await tempDir("nfs4-cp-xattr-");
    const xattr = xattrCalls();
    try {
      const dest = join(local, "f");
      await Deno.writeTextFile(dest, "old contents\n");
      if (!xattr.set(dest, "user.tag", "keep")) {
        console.log("skipped: this file system takes no user.* extended attributes");
        return;
      }
      const inode = Deno.statSync(dest).ino;
      const sha = await writeRandom(join(server.exportDir, "new"), 100_000);
      const r = await nfs4(["cp", `${server.url}/vfs/new`, dest]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await sha256File(dest), sha);
      assert.equal(xattr.get(dest, "user.tag"), "keep", "the extended attribute stays");
      assert.equal(Deno.statSync(dest).ino, inode, "the same file");
      assert.deepEqual(await temporaries(local), []);
    } finally {
      xattr.close();
      await Deno.remove(local, { recursive: true });
    }
  },
);

serverTest(
  "nfs4 cp URL FILE: a bind-mounted local file (a mount root, which rename(2) refuses " +
    "with EBUSY) is written in place; the file mounted there gets the data",
  async (server) => {
    const local = await tempDir("nfs4-cp-bind-");
    const mounted = join(local, "bm");
    let mountedOver = false;
    try {
      await Deno.writeTextFile(join(local, "bmsrc"), "orig\n");
      await Deno.writeTextFile(mounted, "under the mount\n");
      await run("mount", ["--bind", join(local, "bmsrc"), mounted]);
      mountedOver = true;
      const sha = await writeRandom(join(server.exportDir, "new"), 100_000);
      const r = await nfs4(["cp", `${server.url}/vfs/new`, mounted]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(await sha256File(join(local, "bmsrc")), sha);
      assert.deepEqual(await temporaries(local), []);
    } finally {
      if (mountedOver) await run("umount", [mounted]);
      await Deno.remove(local, { recursive: true });
    }
  },
  { ignore: !isRoot },
);

serverTest(
  "nfs4 cp URL FILE: no room for the temporary beside the old file says --inplace " +
    "writes into it; the old file kept, and --inplace then fits",
  async (server) => {
    const local = await tempDir("nfs4-cp-room-");
    const small = join(local, "small");
    let mounted = false;
    try {
      await Deno.mkdir(small);
      await run("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", small]);
      mounted = true;
      const dest = join(small, "old");
      const old = await writeRandom(dest, 300_000);
      const sha = await writeRandom(join(server.exportDir, "m250"), 250_000);
      const r = await nfs4(["cp", `${server.url}/vfs/m250`, dest]);
      assert.equal(r.code, 1, r.stderr);
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: ${dest}: No space left on device (the copy is written beside the old file ` +
        "until complete; --inplace writes into it)",
      ]);
      assert.equal(await sha256File(dest), old, "the old file as it was");
      assert.deepEqual(await temporaries(small), []);
      const inPlace = await nfs4(["cp", "--inplace", `${server.url}/vfs/m250`, dest]);
      assert.equal(inPlace.code, 0, inPlace.stderr);
      assert.equal(await sha256File(dest), sha);
    } finally {
      if (mounted) await run("umount", [small]);
      await Deno.remove(local, { recursive: true });
    }
  },
  { ignore: !isRoot },
);
