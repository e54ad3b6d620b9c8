/**
 * A local source that changes while `nfs4 cp` reads it is not placed as a
 * copy: once read to its end, its size, mtime and ctime (fstat of the open
 * descriptor) are compared with those it had when opened, as GNU tar does
 * ("file changed as we read it"). Before, a 400 MiB source truncated to
 * 10 MiB mid-copy left a 125 MiB file on the server and exit status 0.
 *
 * No timing: the fault proxy holds every reply from the first WRITE's on
 * (the copy can have only its WRITEs in flight, 4 of 1 MiB, and a read or
 * two ahead: at most about 6 of the 32 MiB read, far from the end whatever
 * the machine's load), the test changes the source, then lets the
 * replies go.
 */

import assert from "node:assert/strict";
import { join } from "node:path";
import { serverTest, type TestServer } from "../_server.ts";
import { type ProxyFixture, runNfs4, startProxy, VERSIONS } from "./_faults.ts";
import { sha256File, tempDir, writeRandom } from "./_cp.ts";
import { messageLines } from "./_spawn.ts";

const MiB = 1024 * 1024;
/** Each source: far more than the copy can read while the server's replies are held. */
const SOURCE_BYTES = 32 * MiB;

/** Every `.nfs4-` name in the export's root. */
function temporaries(server: TestServer): string[] {
  return [...Deno.readDirSync(server.exportDir)].map((e) => e.name).filter((n) =>
    n.includes(".nfs4-")
  );
}

/**
 * Runs `nfs4 cp ...args`; when the first WRITE's reply comes, holds every
 * reply to the client, runs `change`, and lets them go.
 */
async function copyChangingSource(
  f: ProxyFixture,
  args: readonly string[],
  change: () => Promise<void>,
) {
  let held: { cancel(): void } | undefined;
  const fault = f.proxy.onReply({
    op: "WRITE",
    action: "rewrite",
    rewrite: (record) => {
      // Armed before this reply is sent on: it is held with the rest.
      held = f.proxy.stall({ direction: "toClient", seconds: Infinity });
      return record;
    },
  });
  const running = runNfs4(args, { killAfterMs: 120_000 });
  await Promise.race([fault.firstFired, running]);
  assert.equal(fault.fired, 1, "the first WRITE was answered");
  try {
    await change();
  } finally {
    held?.cancel();
  }
  return await running;
}

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 cp up (NFSv${vers}): a source truncated while it is read fails the copy ` +
      "(file changed as we read it), exit 1, no destination, no temporary",
    async (server) => {
      const local = await tempDir("nfs4-cp-changed-");
      try {
        const source = join(local, "s.bin");
        await writeRandom(source, SOURCE_BYTES);
        await using f = await startProxy(server);
        const r = await copyChangingSource(
          f,
          ["--vers", vers, "cp", source, `${f.vfs}/s.bin`],
          () => Deno.truncate(source, MiB),
        );
        assert.equal(r.code, 1, r.stderr);
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: ${source}: file changed as we read it; '${f.vfs}/s.bin' not created`,
        ]);
        assert.throws(() => Deno.statSync(join(server.exportDir, "s.bin")));
        assert.deepEqual(temporaries(server), []);
      } finally {
        await Deno.remove(local, { recursive: true });
      }
    },
  );

  serverTest(
    `nfs4 cp -p up (NFSv${vers}): a source appended to while it is read fails the copy; ` +
      "the existing destination keeps its old contents, no temporary",
    async (server) => {
      const local = await tempDir("nfs4-cp-changed-");
      try {
        const source = join(local, "a.bin");
        await writeRandom(source, SOURCE_BYTES);
        const old = await writeRandom(join(server.exportDir, "a.bin"), 3 * MiB);
        await using f = await startProxy(server);
        const r = await copyChangingSource(
          f,
          ["--vers", vers, "cp", "-p", source, `${f.vfs}/a.bin`],
          async () => {
            const file = await Deno.open(source, { append: true });
            await file.write(new Uint8Array(4096).fill(7));
            file.close();
          },
        );
        assert.equal(r.code, 1, r.stderr);
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: ${source}: file changed as we read it; '${f.vfs}/a.bin' not replaced`,
        ]);
        assert.equal(await sha256File(join(server.exportDir, "a.bin")), old);
        assert.deepEqual(temporaries(server), []);
      } finally {
        await Deno.remove(local, { recursive: true });
      }
    },
  );

  serverTest(
    `nfs4 cp --inplace up (NFSv${vers}): a source truncated while it is read fails the ` +
      "copy, the destination said to be incomplete",
    async (server) => {
      const local = await tempDir("nfs4-cp-changed-");
      try {
        const source = join(local, "i.bin");
        await writeRandom(source, SOURCE_BYTES);
        await writeRandom(join(server.exportDir, "i.bin"), 3 * MiB);
        await using f = await startProxy(server);
        const r = await copyChangingSource(
          f,
          ["--vers", vers, "cp", "--inplace", source, `${f.vfs}/i.bin`],
          () => Deno.truncate(source, MiB),
        );
        assert.equal(r.code, 1, r.stderr);
        assert.deepEqual(messageLines(r.stderr), [
          `nfs4: ${f.vfs}/i.bin: copy failed part-way, destination is incomplete: ` +
          `${source}: file changed as we read it`,
        ]);
      } finally {
        await Deno.remove(local, { recursive: true });
      }
    },
  );
}

serverTest(
  "nfs4 cp of /proc and /sys files (size 0 or 4096 whatever they hold) is no source that changed: copied whole, exit 0",
  async (server) => {
    for (const source of ["/proc/cpuinfo", "/proc/self/mounts", "/sys/kernel/osrelease"]) {
      let expected: string;
      try {
        expected = await Deno.readTextFile(source);
      } catch {
        continue; // not on this system
      }
      const name = source.replaceAll("/", "_");
      const r = await runNfs4(["cp", source, `${server.url}/vfs/${name}`], {
        killAfterMs: 120_000,
      });
      assert.equal(r.code, 0, `${source}: ${r.stderr}`);
      const copied = await Deno.readTextFile(join(server.exportDir, name));
      if (source === "/proc/self/mounts") assert.ok(copied.length > 0, source);
      else assert.equal(copied, expected, source);
    }
  },
);
