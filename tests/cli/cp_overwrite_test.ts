/**
 * Overwriting keeps the file (issue 13 item 3): an existing destination
 * keeps its owner, group, mode and hard links as coreutils `cp` keeps them,
 * uploading and downloading, with and without `--inplace`. Each case is set
 * up twice, on the destination side and in a local folder where coreutils
 * `cp` does the same copy with the same identity; owner, group, mode, link
 * count and contents must come out the same, and the inode is kept
 * whenever the copy had to go in place (through a temporary it changes: the
 * one documented difference). An in-place copy that fails part-way says the
 * destination is incomplete and exits 1.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import {
  cpServerTest,
  finish,
  spawnNfs4,
  tempDir,
  temporaries,
  VERSIONS,
  waitFor,
  writeRandom,
} from "./_cp.ts";
import { messageLines, nfs4, ROOT } from "./_spawn.ts";

/** The identity the destination's side sees: root, or one that may not give files away. */
type Who = "root" | "user";

/** Capabilities dropped for a local "user": root that may not chown or bypass permissions. */
const NO_PRIVILEGE = [
  "setpriv",
  "--bounding-set=-chown,-fowner,-dac_override,-dac_read_search",
  "--inh-caps=-all",
];

/** What the tests compare of a destination. */
interface Facts {
  mode: string;
  uid: number;
  gid: number;
  nlink: number;
  ino: number;
  content: string;
}

async function facts(file: string): Promise<Facts> {
  const st = await fs.stat(file);
  return {
    mode: (st.mode & 0o7777).toString(8),
    uid: st.uid,
    gid: st.gid,
    nlink: st.nlink,
    ino: st.ino,
    content: await fs.readFile(file, "utf8"),
  };
}

async function run(argv: string[]): Promise<{ code: number; stderr: string; stdout: string }> {
  const out = await new Deno.Command(argv[0]!, {
    args: argv.slice(1),
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder();
  return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
}

/** One overwrite case: the destination `dir/dst` as it is before the copy. */
interface Case {
  readonly name: string;
  readonly who: Who;
  /** Whether the copy must go in place even without --inplace. */
  readonly inPlace: boolean;
  setup(dir: string, direction: "upload" | "download"): Promise<void>;
}

const CASES: readonly Case[] = [
  {
    name: "a hard-linked destination",
    who: "root",
    inPlace: true,
    async setup(dir) {
      await fs.writeFile(`${dir}/dst`, "old contents, two names\n");
      await fs.chown(`${dir}/dst`, 4242, 777);
      await fs.chmod(`${dir}/dst`, 0o640);
      await fs.link(`${dir}/dst`, `${dir}/dst.link`);
    },
  },
  {
    name: "a foreign-owned destination (4242:777 0640), as root",
    who: "root",
    inPlace: false,
    async setup(dir) {
      await fs.writeFile(`${dir}/dst`, "old\n");
      await fs.chown(`${dir}/dst`, 4242, 777);
      await fs.chmod(`${dir}/dst`, 0o640);
    },
  },
  {
    name: "a foreign-owned destination we may write but not give away",
    who: "user",
    inPlace: true,
    async setup(dir, direction) {
      await fs.writeFile(`${dir}/dst`, "old\n");
      // Upload: uid 1000 writes through the group; download: capless root through "other".
      await fs.chown(`${dir}/dst`, 4242, direction === "upload" ? 1000 : 777);
      await fs.chmod(`${dir}/dst`, direction === "upload" ? 0o664 : 0o666);
    },
  },
  {
    name: "a writable file in a read-only directory",
    who: "user",
    inPlace: true,
    async setup(dir, direction) {
      await fs.writeFile(`${dir}/dst`, "old\n");
      const owner = direction === "upload" ? 1000 : 0;
      await fs.chown(`${dir}/dst`, owner, owner);
      await fs.chmod(`${dir}/dst`, 0o644);
      await fs.chown(dir, owner, owner);
      await fs.chmod(dir, 0o555);
    },
  },
];

const NEW = "new contents\n";

for (const vers of VERSIONS) {
  cpServerTest(
    `nfs4 cp --vers ${vers}: an overwrite keeps owner, group, mode and links`,
    async (server, t) => {
      const vfs = `${server.url}/vfs`;
      const local = await tempDir();
      await fs.chmod(local, 0o755);
      try {
        await fs.writeFile(`${local}/src`, NEW);
        await fs.chmod(`${local}/src`, 0o644);
        await fs.writeFile(`${server.exportDir}/src`, NEW);
        await fs.chmod(`${server.exportDir}/src`, 0o644);
        let n = 0;
        for (const c of CASES) {
          for (const direction of ["upload", "download"] as const) {
            for (const inplace of [false, true]) {
              const label = `${direction}${inplace ? " --inplace" : ""}: ${c.name}`;
              await t.step(label, async () => {
                const id = `case${++n}`;
                // coreutils, with the same identity, in a local folder.
                const ref = path.join(local, `ref-${id}`);
                await fs.mkdir(ref, { mode: 0o777 });
                await fs.chmod(ref, 0o777);
                await c.setup(ref, direction);
                const refBefore = await facts(`${ref}/dst`);
                const coreutils = c.who === "root"
                  ? ["cp", `${local}/src`, `${ref}/dst`]
                  : direction === "upload"
                  ? [
                    "setpriv",
                    "--reuid=1000",
                    "--regid=1000",
                    "--clear-groups",
                    "cp",
                    `${local}/src`,
                    `${ref}/dst`,
                  ]
                  : [...NO_PRIVILEGE, "cp", `${local}/src`, `${ref}/dst`];
                const r0 = await run(coreutils);
                assert.equal(r0.code, 0, r0.stderr);
                const want = await facts(`${ref}/dst`);
                assert.equal(want.ino, refBefore.ino, "coreutils keeps the inode");

                // nfs4, the same case on the destination side.
                const dir = direction === "upload"
                  ? path.join(server.exportDir, id)
                  : path.join(local, `dst-${id}`);
                await fs.mkdir(dir);
                await fs.chmod(dir, 0o777);
                await c.setup(dir, direction);
                const before = await facts(`${dir}/dst`);
                const flags = inplace ? ["--inplace"] : [];
                const argv = direction === "upload"
                  ? [
                    ...(c.who === "user" ? ["--uid", "1000", "--gid", "1000"] : []),
                    "cp",
                    ...flags,
                    `${local}/src`,
                    `${vfs}/${id}/dst`,
                  ]
                  : ["cp", ...flags, `${vfs}/src`, `${dir}/dst`];
                const r = direction === "download" && c.who === "user"
                  ? await run([
                    ...NO_PRIVILEGE,
                    Deno.execPath(),
                    "run",
                    "-A",
                    "cli/main.ts",
                    "--vers",
                    vers,
                    ...argv,
                  ])
                  : await nfs4(["--vers", vers, ...argv]);
                assert.equal(r.code, 0, r.stderr);
                assert.equal(r.stderr, "");
                const got = await facts(`${dir}/dst`);
                assert.deepEqual(
                  { ...got, ino: 0 },
                  { ...want, ino: 0 },
                  "owner, group, mode, links and contents as with coreutils",
                );
                if (inplace || c.inPlace) {
                  assert.equal(got.ino, before.ino, "written in place: the inode is kept");
                } else {
                  assert.notEqual(got.ino, before.ino, "through a temporary: a new inode");
                }
                if (before.nlink > 1) {
                  assert.equal(await fs.readFile(`${dir}/dst.link`, "utf8"), NEW, "the other link");
                }
                assert.deepEqual(await temporaries(dir), []);
                await fs.chmod(dir, 0o755);
              });
            }
          }
        }
      } finally {
        await fs.rm(local, { recursive: true, force: true });
      }
    },
  );
}

cpServerTest(
  "nfs4 cp: an in-place copy that fails part-way says the destination is incomplete",
  async (server, t) => {
    const vfs = `${server.url}/vfs`;
    const mount = await tempDir();
    const big = new Uint8Array(4 * 1024 * 1024).fill(0x5a);
    await fs.writeFile(`${server.exportDir}/big`, big);
    // A 1 MiB file system: the 4 MiB copy runs out of space part-way.
    const mounted = await run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", mount]);
    try {
      assert.equal(mounted.code, 0, mounted.stderr);
      await t.step("download --inplace onto a file with two links", async () => {
        await fs.writeFile(`${mount}/dst`, "old\n");
        await fs.link(`${mount}/dst`, `${mount}/dst.link`);
        for (const flags of [["--inplace"], []]) {
          const r = await nfs4(["cp", ...flags, `${vfs}/big`, `${mount}/dst`]);
          assert.equal(r.code, 1, r.stderr);
          assert.deepEqual(messageLines(r.stderr), [
            `nfs4: ${mount}/dst: copy failed part-way, destination is incomplete: No space left on device`,
          ]);
          assert.equal((await fs.stat(`${mount}/dst`)).nlink, 2, "still the same file");
          assert.deepEqual(await temporaries(mount), []);
        }
      });
      await t.step("--json counts it as an error and carries the message", async () => {
        const r = await nfs4(["cp", "--json", "--inplace", `${vfs}/big`, `${mount}/dst`]);
        assert.equal(r.code, 1);
        const summary = JSON.parse(r.stdout);
        assert.equal(summary.errors, 1);
        assert.equal(summary.files, 0);
        assert.match(
          summary.errorMessages[0],
          /destination is incomplete: No space left on device$/,
        );
      });
    } finally {
      await run(["umount", mount]);
      await fs.rm(mount, { recursive: true, force: true });
    }
  },
);

cpServerTest(
  "nfs4 cp: Ctrl-C during an in-place upload says the destination is incomplete",
  async (server) => {
    const local = await tempDir();
    try {
      await writeRandom(`${local}/big`, 512 * 1024 * 1024);
      await fs.writeFile(`${server.exportDir}/dst`, "old\n");
      await fs.link(`${server.exportDir}/dst`, `${server.exportDir}/dst.link`);
      const child = spawnNfs4(["cp", `${local}/big`, `${server.url}/vfs/dst`]);
      const result = finish(child);
      await waitFor(
        async () =>
          (await fs.stat(`${server.exportDir}/dst`)).size >= 16 * 1024 * 1024 || undefined,
        60_000,
        "16 MiB written in place",
      );
      child.kill("SIGINT");
      const r = await result;
      assert.equal(r.code, 130, r.stderr);
      assert.deepEqual(messageLines(r.stderr), [
        `nfs4: ${server.url}/vfs/dst: copy failed part-way, destination is incomplete: interrupted by SIGINT`,
      ]);
      assert.equal((await fs.stat(`${server.exportDir}/dst`)).nlink, 2, "still the same file");
      assert.deepEqual(await temporaries(server.exportDir), []);
    } finally {
      await fs.rm(local, { recursive: true, force: true });
    }
  },
);
