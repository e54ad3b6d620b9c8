/**
 * `nfs4 cat` as a black box against NFS-Ganesha, on NFSv4.0 and NFSv4.1:
 * byte-exact copies of random files up to 100 MiB (SHA-256 of stdout as it
 * streams), the MEM export, permission and lookup errors with their exit
 * codes, that the server holds no state for the command once it exited, and
 * that tshark decodes a whole `ls -l` + `cat` session cleanly.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { serverTest, type TestServer } from "../_server.ts";
import { decodeNfs, hasTshark, startCapture } from "../_tshark.ts";
import {
  destroyClientIdStatus,
  exclusiveOpenStatus,
  freePort,
  type HashedResult,
  messageLines,
  nfs4,
  nfs4Hashed,
  probeClient,
  ROOT,
  sha256,
  traceClientId,
  traceEvents,
  type TraceLine,
} from "./_spawn.ts";

const VERSIONS = ["4.0", "4.1"] as const;
type Version = (typeof VERSIONS)[number];

const MiB = 1 << 20;

/**
 * Writes `size` random bytes to `file` a MiB at a time and returns their
 * SHA-256, without holding the file in memory.
 */
function writeRandom(file: string, size: number): string {
  const hash = createHash("sha256");
  const fd = fs.openSync(file, "w");
  try {
    const block = new Uint8Array(MiB);
    for (let done = 0; done < size;) {
      const piece = block.subarray(0, Math.min(MiB, size - done));
      for (let at = 0; at < piece.length; at += 65536) {
        crypto.getRandomValues(piece.subarray(at, Math.min(piece.length, at + 65536)));
      }
      fs.writeSync(fd, piece);
      hash.update(piece);
      done += piece.length;
    }
  } finally {
    fs.closeSync(fd);
  }
  return hash.digest("hex");
}

function okHashed(r: HashedResult, what: string): HashedResult {
  assert.equal(r.code, 0, `${what}: ${r.stderr}`);
  assert.equal(r.stderr, "", what);
  return r;
}

/** Creates `/mem/NAME` through NFS with `size` bytes written (MEM keeps the size, not the data). */
async function makeMemFile(
  server: TestServer,
  vers: Version,
  name: string,
  size: number,
): Promise<void> {
  const probe = await probeClient(server, vers);
  try {
    const f = await probe.open(`/mem/${name}`, { access: "write", create: "guarded", mode: 0o644 });
    for (let at = 0; at < size; at += MiB) {
      await f.write(BigInt(at), new Uint8Array(Math.min(MiB, size - at)).fill(0x5a), "file");
    }
    await f.close();
  } finally {
    await probe.close();
  }
}

for (const vers of VERSIONS) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 cat --vers ${vers} copies random files of 0, 1, 4095, 4096, 1 MiB + 1 and 100 MiB byte for byte`,
    async (server) => {
      const sizes = [0, 1, 4095, 4096, MiB + 1, 100 * MiB];
      const hashes = new Map<number, string>();
      for (const size of sizes) {
        hashes.set(size, writeRandom(`${server.exportDir}/r${size}`, size));
      }
      for (const size of sizes) {
        const r = okHashed(
          await nfs4Hashed(["cat", ...v, `${server.url}/vfs/r${size}`]),
          `${size}`,
        );
        assert.equal(r.size, size);
        assert.equal(r.sha256, hashes.get(size), `sha256 of the ${size}-byte file`);
      }
    },
  );

  serverTest(`nfs4 cat --vers ${vers} A B writes A then B`, async (server) => {
    const a = new Uint8Array(4095);
    const b = new Uint8Array(MiB + 1);
    crypto.getRandomValues(a);
    for (let at = 0; at < b.length; at += 65536) {
      crypto.getRandomValues(b.subarray(at, Math.min(b.length, at + 65536)));
    }
    await Deno.writeFile(`${server.exportDir}/a`, a);
    await Deno.writeFile(`${server.exportDir}/b`, b);
    await Deno.writeFile(`${server.exportDir}/empty`, new Uint8Array(0));
    const u = `${server.url}/vfs`;
    const r = await nfs4(["cat", ...v, `${u}/a`, `${u}/empty`, `${u}/b`, `${u}/a`]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, "");
    const expected = new Uint8Array(a.length * 2 + b.length);
    expected.set(a, 0);
    expected.set(b, a.length);
    expected.set(a, a.length + b.length);
    assert.equal(r.bytes.length, expected.length);
    assert.equal(sha256(r.bytes), sha256(expected));
  });

  serverTest(
    `nfs4 cat --vers ${vers} of MEM export files exits 0 with as many bytes as their size`,
    async (server) => {
      await makeMemFile(server, vers, "zero", 0);
      await makeMemFile(server, vers, "m b", 3 * MiB + 5);
      for (const [name, size] of [["zero", 0], ["m%20b", 3 * MiB + 5]] as const) {
        const r = okHashed(await nfs4Hashed(["cat", ...v, `${server.url}/mem/${name}`]), name);
        assert.equal(r.size, size, `bytes of /mem/${name}`);
      }
    },
  );

  // ------------------------------------------------------------ errors

  serverTest(
    `nfs4 cat --vers ${vers} --uid 1000 --gid 1000 of a root-only file exits 1 with NFS4ERR_ACCESS`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/secret`, "secret\n");
      await Deno.chmod(`${server.exportDir}/secret`, 0o600);
      await Deno.chown(`${server.exportDir}/secret`, 0, 0);
      await Deno.writeTextFile(`${server.exportDir}/public`, "public\n");
      await Deno.chmod(`${server.exportDir}/public`, 0o644);
      const u = `${server.url}/vfs`;
      const as1000 = [...v, "--uid", "1000", "--gid", "1000"];

      const denied = await nfs4(["cat", ...as1000, `${u}/secret`]);
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /^nfs4: \S+: [A-Z][^\n]* \(NFS4ERR_[A-Z_]+\)\n$/);
      assert.equal(denied.stderr, `nfs4: ${u}/secret: Permission denied (NFS4ERR_ACCESS)\n`);
      assert.equal(denied.stdout, "");

      // The same identity may read a file the mode allows, and root may read the secret.
      const allowed = await nfs4(["cat", ...as1000, `${u}/public`, `${u}/secret`, `${u}/public`]);
      assert.equal(allowed.code, 1);
      assert.equal(allowed.stdout, "public\npublic\n");
      assert.equal(allowed.stderr, denied.stderr);
      const root = await nfs4(["cat", ...v, "--uid", "0", "--gid", "0", `${u}/secret`]);
      assert.equal(root.code, 0, root.stderr);
      assert.equal(root.stdout, "secret\n");
    },
  );

  serverTest(
    `nfs4 cat --vers ${vers} of a missing path exits 1 with the NFS4ERR_NOENT line`,
    async (server) => {
      const url = `${server.url}/vfs/missing`;
      const r = await nfs4(["cat", ...v, url]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `nfs4: ${url}: No such file or directory (NFS4ERR_NOENT)\n`);
      assert.equal(r.stdout, "");
    },
  );

  serverTest(
    `nfs4 cat --vers ${vers} through a file (file.txt/x) exits 1 with the NFS4ERR_NOTDIR line naming the URL as typed`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/file.txt`, "text\n");
      const url = `${server.url}/vfs/file.txt`;
      const r = await nfs4(["cat", ...v, `${url}/x`]);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, `nfs4: ${url}/x: Not a directory (NFS4ERR_NOTDIR)\n`);
      assert.equal(r.stdout, "");
    },
  );

  serverTest(
    `nfs4 cat --vers ${vers} of a directory exits 1 with the NFS4ERR_ISDIR line`,
    async (server) => {
      await Deno.mkdir(`${server.exportDir}/dir`);
      for (const url of [`${server.url}/vfs/dir`, `${server.url}/vfs`, `${server.url}/`]) {
        const r = await nfs4(["cat", ...v, url]);
        assert.equal(r.code, 1, url);
        assert.equal(r.stderr, `nfs4: ${url}: Is a directory (NFS4ERR_ISDIR)\n`);
        assert.equal(r.stdout, "");
      }
    },
  );

  serverTest(
    `nfs4 cat --vers ${vers} reports each failing URL on one line and still copies the others`,
    async (server) => {
      await Deno.mkdir(`${server.exportDir}/dir`);
      await Deno.writeTextFile(`${server.exportDir}/a`, "A\n");
      await Deno.writeTextFile(`${server.exportDir}/b`, "B\n");
      const u = `${server.url}/vfs`;
      const r = await nfs4(["cat", ...v, `${u}/dir`, `${u}/a`, `${u}/nope`, `${u}/a/x`, `${u}/b`]);
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "A\nB\n");
      assert.equal(
        r.stderr,
        `nfs4: ${u}/dir: Is a directory (NFS4ERR_ISDIR)\n` +
          `nfs4: ${u}/nope: No such file or directory (NFS4ERR_NOENT)\n` +
          `nfs4: ${u}/a/x: Not a directory (NFS4ERR_NOTDIR)\n`,
      );
    },
  );

  serverTest(
    `nfs4 cat --vers ${vers} with a bad URL exits 2 before copying anything`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/a`, "A\n");
      const good = `${server.url}/vfs/a`;
      for (const bad of [`${good}#frag`, "nfs:///vfs/a", `${server.url}/vfs/a%zz`]) {
        const r = await nfs4(["cat", ...v, good, bad]);
        assert.equal(r.code, 2, bad);
        assert.match(r.stderr, new RegExp(`^nfs4: ${RegExp.escape(bad)}: [^\\n]+\\n$`));
        assert.equal(r.stdout, "", "nothing is copied when any URL is bad");
      }
    },
  );

  Deno.test(`nfs4 cat --vers ${vers} of a closed port exits 1 with Connection refused`, async () => {
    const port = await freePort();
    const r = await nfs4(["cat", ...v, `nfs://127.0.0.1:${port}/vfs/a`]);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `nfs4: 127.0.0.1:${port}: Connection refused\n`);
    assert.equal(r.stdout, "");
  });

  // ------------------------------------------------- state after exit

  serverTest(
    `nfs4 cat --vers ${vers} leaves no client, open or lock on the server once it exits`,
    async (server) => {
      await Deno.mkdir(`${server.exportDir}/dir`);
      writeRandom(`${server.exportDir}/a`, 5000);
      writeRandom(`${server.exportDir}/big`, 8 * MiB);
      await Deno.symlink("a", `${server.exportDir}/link`);
      const u = `${server.url}/vfs`;

      // The detectors first: an open held by a live client denies an
      // exclusive open, and a live client's ID is busy, not stale.
      const holder = await probeClient(server, vers);
      try {
        const held = await holder.openRead("/vfs/a");
        assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/a"), "NFS4ERR_SHARE_DENIED");
        if (vers === "4.1") {
          const id = holder.manager.client.clientId!;
          assert.equal(await destroyClientIdStatus(server, id), "NFS4ERR_CLIENTID_BUSY");
        }
        await held.close();
      } finally {
        await holder.close();
      }
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/a"), "NFS4_OK");

      const runs: { args: string[]; code: number; opens: number }[] = [
        { args: [`${u}/a`, `${u}/link`, `${u}/a`], code: 0, opens: 3 },
        { args: [`${u}/dir`, `${u}/nope`, `${u}/a`], code: 1, opens: 1 },
      ];
      for (const { args, code, opens } of runs) {
        const r = await nfs4(["cat", ...v, "--trace=json", ...args]);
        const what = `cat ${args.join(" ")}`;
        assert.equal(r.code, code, `${what}: ${r.stderr}`);
        // --trace=json: every line on stderr is JSON, the failures too (category error).
        assert.deepEqual(messageLines(r.stderr), [], what);
        assert.deepEqual(
          traceEvents(r.stderr).filter((e) => e.cat === "error" && e.event === "error")
            .map((e) => [e.url, e.status]),
          code === 0 ? [] : [[`${u}/dir`, "NFS4ERR_ISDIR"], [`${u}/nope`, "NFS4ERR_NOENT"]],
          what,
        );
        assert.ok(r.ms < server.leaseSeconds * 1000, `${what} ended after ${r.ms} ms`);
        await assertNothingHeld(server, vers, traceEvents(r.stderr), opens, ["/vfs/a"], what);
      }

      // Stopped by its reader after the first chunk, like `nfs4 cat | head -c1`.
      const child = new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "cli/main.ts", "cat", ...v, "--trace=json", `${u}/big`],
        cwd: ROOT,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const reader = child.stdout.getReader();
      const first = await reader.read();
      assert.ok(first.value && first.value.length > 0);
      await reader.cancel();
      const [status, stderr] = await Promise.all([child.status, new Response(child.stderr).text()]);
      assert.equal(status.code, 0, stderr);
      assert.deepEqual(messageLines(stderr), []);
      await assertNothingHeld(server, vers, traceEvents(stderr), 1, ["/vfs/big"], "cat | head -c1");
    },
  );

  serverTest(
    `nfs4 ls -l and nfs4 cat --vers ${vers} decode in tshark with no malformed packet or expert error`,
    async (server) => {
      await Deno.mkdir(`${server.exportDir}/dir`);
      writeRandom(`${server.exportDir}/dir/data`, 3 * MiB + 7);
      await Deno.writeTextFile(`${server.exportDir}/dir/café`, "x");
      await Deno.symlink("data", `${server.exportDir}/dir/link`);
      const capture = await startCapture(server.port);
      try {
        const ls = await nfs4(["ls", ...v, "-l", `${server.url}/vfs/dir`]);
        assert.equal(ls.code, 0, ls.stderr);
        const cat = await nfs4Hashed(["cat", ...v, `${server.url}/vfs/dir/link`]);
        assert.equal(cat.code, 0, cat.stderr);
        assert.equal(cat.size, 3 * MiB + 7);
      } finally {
        await capture.stop();
      }
      const decoded = await decodeNfs(capture.file, server.port);
      assert.equal(decoded.malformed, 0, "malformed packets");
      assert.equal(decoded.expertErrors, 0, "expert errors");
      const calls = decoded.frames.filter((f) => !f.isReply && f.ops.length > 0);
      const ops = new Set(calls.flatMap((f) => f.ops));
      const wanted = [
        "PUTROOTFH",
        "LOOKUP",
        "GETATTR",
        "READDIR",
        "READLINK",
        "OPEN",
        "READ",
        "CLOSE",
      ];
      if (vers === "4.0") {
        wanted.push("SETCLIENTID", "SETCLIENTID_CONFIRM");
        assert.ok(!ops.has("SEQUENCE"), "no SEQUENCE on 4.0");
      } else {
        wanted.push(
          "EXCHANGE_ID",
          "CREATE_SESSION",
          "SEQUENCE",
          "RECLAIM_COMPLETE",
          "DESTROY_SESSION",
          "DESTROY_CLIENTID",
        );
        assert.ok(!ops.has("SETCLIENTID"), "no SETCLIENTID on 4.1");
        // Every COMPOUND but the session-less ones starts with SEQUENCE.
        const sessionless = new Set([
          "EXCHANGE_ID",
          "CREATE_SESSION",
          "DESTROY_SESSION",
          "DESTROY_CLIENTID",
        ]);
        for (const f of calls) {
          if (!sessionless.has(f.ops[0]!)) assert.equal(f.ops[0], "SEQUENCE", f.info);
        }
      }
      for (const op of wanted) assert.ok(ops.has(op), `${op} in ${[...ops].join(" ")}`);
      // Two processes, two clients: each one establishes and (4.1) destroys its own.
      const count = (op: string) => calls.filter((f) => f.ops.includes(op)).length;
      const establish = vers === "4.0" ? "SETCLIENTID" : "EXCHANGE_ID";
      assert.equal(count(establish), 2);
      if (vers === "4.1") {
        assert.equal(count("DESTROY_SESSION"), 2);
        assert.equal(count("DESTROY_CLIENTID"), 2);
      }
      assert.equal(count("OPEN"), count("CLOSE"));
    },
    { ignore: !hasTshark },
  );
}

/**
 * The server holds nothing for a `cat` that has exited after `opens` OPENs.
 *
 * Both versions: the trace shows a CLOSE of the same stateid for every
 * OPEN, and no RELEASE_LOCKOWNER (no locks were taken); an exclusive open
 * (share deny both) of each of `files` (the files it opened, symlinks
 * resolved) is granted to another client.
 * 4.1 also: its session and client ID were destroyed, and DESTROY_CLIENTID
 * of that ID from another client answers NFS4ERR_STALE_CLIENTID.
 */
async function assertNothingHeld(
  server: TestServer,
  vers: Version,
  events: TraceLine[],
  opens: number,
  files: readonly string[],
  what: string,
): Promise<void> {
  // OPEN carries path and stateid as fields; CLOSE says "PATH STATEID" (the
  // stateid's "other" part, before the ":seqid", names the open).
  const other = (stateid: string) => stateid.split(":")[0]!;
  const opened = events.filter((e) => e.cat === "open" && e.event === "OPEN")
    .map((e) => `${e.path} ${other(String(e.stateid))}`);
  // cat opens files ahead of the one it writes: an OPEN of a file this
  // client has open already upgrades that open (same stateid, one more user;
  // "PATH STATEID users N"), and its one CLOSE comes with the last user.
  const upgraded = events.filter((e) => e.cat === "open" && e.event === "OPEN (upgrade)")
    .map((e) => other(String(e.detail).split(" ")[1] ?? ""));
  const closed = events.filter((e) => e.cat === "open" && e.event === "CLOSE")
    .map((e) => String(e.detail).split(" ")).map(([p, id]) => `${p} ${other(String(id))}`);
  assert.equal(opened.length + upgraded.length, opens, `${what}: OPENs`);
  assert.deepEqual(closed.sort(), opened.sort(), `${what}: a CLOSE for every OPEN`);
  for (const id of upgraded) {
    assert.ok(opened.some((o) => o.endsWith(` ${id}`)), `${what}: ${id} upgrades an OPEN`);
  }
  // No state-manager error (the command's own messages are events named "error").
  assert.deepEqual(events.filter((e) => e.cat === "error" && e.event !== "error"), [], what);
  const names = events.map((e) => e.event);
  assert.ok(!names.some((n) => n.startsWith("RELEASE_LOCKOWNER")), `${what}: no locks, no release`);
  for (const path of files) {
    assert.equal(await exclusiveOpenStatus(server, vers, path), "NFS4_OK", `${what}: ${path}`);
  }
  const clientId = traceClientId(events);
  if (vers === "4.1") {
    assert.ok(names.includes("DESTROY_SESSION ok"), what);
    assert.ok(names.includes("DESTROY_CLIENTID ok"), what);
    assert.equal(await destroyClientIdStatus(server, clientId), "NFS4ERR_STALE_CLIENTID", what);
  }
}
