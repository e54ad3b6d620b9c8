/**
 * A small new file's one-COMPOUND upload meets a short WRITE: the server
 * writes fewer bytes than sent and answers NFS4_OK, which RFC 8881 §18.32.3
 * and RFC 7530 §16.36.4 allow ("the client will need to send another WRITE
 * to write the remaining data"), a nearly full file system say. The rest is
 * sent from where the WRITE ended (lib/state/small_upload.ts writeRest):
 * through the same open on NFSv4.0 (its COMPOUND has no CLOSE), through an
 * OPEN of the file by its handle on NFSv4.1 (CLAIM_FH: the COMPOUND's
 * SETATTR and CLOSE ran all the same), or through the open a placing's
 * VERIFY left (RFC 8881 §18.31); the copy then completes byte-exact, or
 * fails with the server's own status for the rest (NFS4ERR_NOSPC), named by
 * the destination URL as every other failure is, its temporary removed.
 *
 * `nfs4 cp` runs in-process against the scripted server, each shape in turn
 * (a new file, one replacing another, one placed by a LINK while its name
 * is free: `-n`, as in a directory the copy made), and against NFS-Ganesha
 * on a nearly full tmpfs (mounted here, as root), where the short WRITE and
 * the NFS4ERR_NOSPC after it are the server's own.
 */

import assert from "node:assert/strict";
import * as fs from "node:fs/promises";
import { Nfs4Client } from "../../lib/client/client.ts";
import { copy, parseLocation } from "../../lib/client/copy/mod.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import type { WriteArgs } from "../../lib/nfs4/ops/write.ts";
import type { OpenArgs } from "../../lib/nfs4/ops/open.ts";
import { OpenClaimType } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S, statusName } from "../../lib/nfs4/status.ts";
import { run } from "../../cli/program.ts";
import { connectClient } from "../../cli/connect.ts";
import { NO_IDS } from "../../cli/ls_owners.ts";
import { FakeStream } from "../cli/_fake.ts";
import { runScripted } from "../cli/_scripted_cli.ts";
import { ScriptedServer } from "../state/_scripted.ts";
import { hasGanesha, type TestServer, withServer } from "../_server.ts";

const SIZE = 60_000;

/** What a lack of room while a temporary replaces a file adds (lib/client/copy/file.ts). */
const ROOM_HINT =
  "(the copy is written beside the old file until complete; --inplace writes into it)";

/** 60000 bytes no two runs share, none zero (a hole would not be written). */
function content(): Uint8Array {
  const data = crypto.getRandomValues(new Uint8Array(SIZE));
  for (let i = 0; i < data.length; i++) if (data[i] === 0) data[i] = 1;
  return data;
}

/** A scripted server with /vfs/d/old (to replace) and /vfs/d/keep. */
function scripted(): ScriptedServer {
  return new ScriptedServer({
    now: () => performance.now(),
    files: { "/vfs/d/old": "old contents\n", "/vfs/d/keep": "keep\n" },
  });
}

/**
 * The first WRITE the server sees writes half of its data (NFS4_OK, the
 * count saying so); `then` is what the next ones do: write all, fail
 * NFS4ERR_NOSPC, or write half again (each WRITE after a short one
 * smaller: a 1-byte rest writes nothing).
 */
function shortFirstWrite(server: ScriptedServer, then: "all" | "nospc" | "half"): void {
  server.writeShort = true;
  if (then === "all") {
    server.intercept("WRITE", (_, s) => void (s.writeShort = false), { after: 1 });
  }
  if (then === "nospc") server.failNext("WRITE", S.NFS4ERR_NOSPC, { after: 1, times: 100 });
}

/** [offset, bytes sent, status] of every WRITE the server saw. */
function writes(server: ScriptedServer): [number, number, string][] {
  return server.log.flatMap((entry) =>
    entry.ops.flatMap((op, i) => {
      if (op !== "WRITE") return [];
      const args = entry.args[i] as WriteArgs;
      const status = entry.statuses[i] === S.NFS4_OK ? "ok" : statusName(entry.statuses[i]!);
      return [[Number(args.offset), args.data.length, status] as [number, number, string]];
    })
  );
}

/** The copy's temporaries (`.NAME.nfs4-XXXXXX`) under `dir` on the scripted server. */
function temporaries(server: ScriptedServer, dir: string): string[] {
  const node = server.file(dir);
  return node ? [...node.children.keys()].filter((n) => n.includes(".nfs4-")) : [];
}

/** The claim of every OPEN the server saw. */
function claims(server: ScriptedServer): number[] {
  return server.log.flatMap((e) =>
    e.ops.flatMap((op, i) => op === "OPEN" ? [(e.args[i] as OpenArgs).claim.claim] : [])
  );
}

/** OPENs and CLOSEs the server answered NFS4_OK: each OPEN has its CLOSE. */
function opensAndCloses(server: ScriptedServer): [number, number] {
  const count = (name: string) =>
    server.log.reduce(
      (n, e) => n + e.ops.filter((op, i) => op === name && e.statuses[i] === S.NFS4_OK).length,
      0,
    );
  return [count("OPEN"), count("CLOSE")];
}

/**
 * What each shape copies where: `cp SRC @/vfs/d/new`, onto @/vfs/d/old,
 * and `cp -n` (a name taken only while it is free: placed with a LINK, as
 * in a directory the copy made, which the scripted server cannot make).
 */
const SHAPES = [
  { name: "a new file", args: (src: string) => [`${src}/f`, "@/vfs/d/new"], dest: "/vfs/d/new" },
  {
    name: "a file replacing another",
    args: (src: string) => [`${src}/f`, "@/vfs/d/old"],
    dest: "/vfs/d/old",
  },
  {
    name: "a file placed only while its name is free (-n, LINK)",
    args: (src: string) => ["-n", `${src}/f`, "@/vfs/d/placed"],
    dest: "/vfs/d/placed",
  },
] as const;

/** A local source: SRC/f and SRC/t/f, both `data`. */
async function withSource<T>(data: Uint8Array, fn: (src: string) => Promise<T>): Promise<T> {
  const src = await Deno.makeTempDir({ prefix: "nfs4-short-write-" });
  try {
    await Deno.writeFile(`${src}/f`, data);
    await Deno.mkdir(`${src}/t`);
    await Deno.writeFile(`${src}/t/f`, data);
    return await fn(src);
  } finally {
    await Deno.remove(src, { recursive: true });
  }
}

for (const version of ["4.0", "4.1"] as const) {
  for (const shape of SHAPES) {
    Deno.test(`nfs4 cp --vers ${version}, ${shape.name}: a short WRITE answered NFS4_OK in the one COMPOUND (RFC 8881 §18.32.3, RFC 7530 §16.36.4) gets the rest sent from where it ended; the copy completes byte-exact`, async () => {
      const data = content();
      const server = scripted();
      shortFirstWrite(server, "all");
      const [r] = await withSource(
        data,
        (src) => runScripted(server, [["--vers", version, "cp", ...shape.args(src)]]),
      );
      assert.equal(r!.code, 0, r!.stderr);
      assert.equal(r!.stderr, "");
      assert.deepEqual(server.file(shape.dest)?.data, data, "byte-exact");
      // The rest once, from the first WRITE's end: no byte written is sent again.
      assert.deepEqual(writes(server), [[0, SIZE, "ok"], [SIZE / 2, SIZE / 2, "ok"]]);
      const dir = shape.dest.slice(0, shape.dest.lastIndexOf("/"));
      assert.deepEqual(temporaries(server, dir), []);
      const [opens, closes] = opensAndCloses(server);
      assert.equal(opens, closes, "every OPEN has its CLOSE");
      // On 4.1 the COMPOUND's CLOSE ran (unless a placing's VERIFY stopped
      // it): the rest went through an OPEN of the file's handle.
      assert.equal(
        claims(server).filter((claim) => claim === OpenClaimType.CLAIM_FH).length,
        version === "4.1" && shape.dest !== "/vfs/d/placed" ? 1 : 0,
      );
      if (shape.dest === "/vfs/d/old") {
        assert.equal(new TextDecoder().decode(server.file("/vfs/d/keep")?.data), "keep\n");
      }
    });

    Deno.test(`nfs4 cp --vers ${version}, ${shape.name}: a short WRITE (RFC 8881 §18.32.3, RFC 7530 §16.36.4) whose rest meets NFS4ERR_NOSPC fails with that status, named by the destination URL; the temporary is removed`, async () => {
      const data = content();
      const server = scripted();
      shortFirstWrite(server, "nospc");
      const [r] = await withSource(
        data,
        (src) => runScripted(server, [["--vers", version, "cp", ...shape.args(src)]]),
      );
      assert.equal(r!.code, 1, r!.stderr);
      // Replacing a file: the hint that the temporary needs room beside it.
      const hint = shape.dest === "/vfs/d/old" ? ` ${ROOM_HINT}` : "";
      assert.equal(
        r!.stderr,
        `nfs4: @${shape.dest}: No space left on device (NFS4ERR_NOSPC)${hint}\n`,
      );
      assert.deepEqual(writes(server), [[0, SIZE, "ok"], [SIZE / 2, SIZE / 2, "NFS4ERR_NOSPC"]]);
      const dir = shape.dest.slice(0, shape.dest.lastIndexOf("/"));
      assert.deepEqual(temporaries(server, dir), []);
      if (shape.dest === "/vfs/d/old") {
        assert.equal(new TextDecoder().decode(server.file("/vfs/d/old")?.data), "old contents\n");
      } else {
        assert.equal(server.file(shape.dest), undefined, "nothing under the final name");
      }
      const [opens, closes] = opensAndCloses(server);
      assert.equal(opens, closes, "every OPEN has its CLOSE");
    });
  }

  Deno.test(`nfs4 cp --vers ${version}: a WRITE of the rest that writes nothing with NFS4_OK (RFC 8881 §18.32.3: no error only when some data was written) fails the file as the pipelined writer does, never sent again; the temporary is removed`, async () => {
    // 60001 bytes, each WRITE writing half: 30000, 15000, ... 1, then nothing.
    const data = new Uint8Array(SIZE + 1).fill(7);
    const server = scripted();
    shortFirstWrite(server, "half");
    const [r] = await withSource(
      data,
      (src) => runScripted(server, [["--vers", version, "cp", `${src}/f`, "@/vfs/d/new"]]),
    );
    assert.equal(r!.code, 1, r!.stderr);
    const sent = writes(server);
    const last = sent.at(-1)!;
    assert.equal(last[1], 1, "the last WRITE was the one byte left");
    assert.equal(sent.filter((w) => w[0] === last[0]).length, 1, "sent once");
    assert.match(
      r!.stderr,
      new RegExp(`server accepted no data at offset ${last[0]} \\(I/O error\\)\\n$`),
    );
    assert.deepEqual(temporaries(server, "/vfs/d"), []);
    assert.equal(server.file("/vfs/d/new"), undefined);
  });
}

Deno.test("nfs4 cp --vers 4.1: the rest of a short WRITE (RFC 8881 §18.32.3) after the COMPOUND set a mode its owner may not write (0444): the OPEN by handle refused NFS4ERR_ACCESS gets the owner's write bit back first (0644), and the file ends 0444, byte-exact", async () => {
  const data = content();
  const server = scripted();
  shortFirstWrite(server, "all");
  // The second OPEN (the first is the create's) is the one by handle.
  server.intercept("OPEN", () => S.NFS4ERR_ACCESS, { after: 1 });
  const [r] = await withSource(data, async (src) => {
    await Deno.chmod(`${src}/f`, 0o444);
    return await runScripted(server, [["--vers", "4.1", "cp", `${src}/f`, "@/vfs/d/ro"]]);
  });
  assert.equal(r!.code, 0, r!.stderr);
  assert.deepEqual(server.file("/vfs/d/ro")?.data, data);
  assert.equal(server.file("/vfs/d/ro")?.modeSet, 0o444);
  const modes = server.log.flatMap((e) =>
    e.ops.flatMap((op, i) =>
      op === "SETATTR" ? [(e.args[i] as { attrs: { mode?: number } }).attrs.mode] : []
    )
  ).filter((mode) => mode !== undefined);
  assert.deepEqual(modes, [0o444, 0o644, 0o444]);
  assert.deepEqual(temporaries(server, "/vfs/d"), []);
});

Deno.test("nfs4 cp --vers 4.1: the rest of a short WRITE (RFC 8881 §18.32.3) on a server without CLAIM_FH (NFS4ERR_NOTSUPP, RFC 8881 §18.16.3) goes through an OPEN of the temporary by name, and the copy completes byte-exact", async () => {
  const data = content();
  const server = scripted();
  shortFirstWrite(server, "all");
  server.intercept(
    "OPEN",
    (args) =>
      (args as OpenArgs).claim.claim === OpenClaimType.CLAIM_FH ? S.NFS4ERR_NOTSUPP : undefined,
    { times: 10 },
  );
  const [r] = await withSource(
    data,
    (src) => runScripted(server, [["--vers", "4.1", "cp", `${src}/f`, "@/vfs/d/new"]]),
  );
  assert.equal(r!.code, 0, r!.stderr);
  assert.deepEqual(server.file("/vfs/d/new")?.data, data);
  assert.deepEqual(claims(server), [
    OpenClaimType.CLAIM_NULL,
    OpenClaimType.CLAIM_FH,
    OpenClaimType.CLAIM_NULL,
  ]);
  assert.deepEqual(writes(server), [[0, SIZE, "ok"], [SIZE / 2, SIZE / 2, "ok"]]);
  assert.deepEqual(temporaries(server, "/vfs/d"), []);
  const [opens, closes] = opensAndCloses(server);
  assert.equal(opens, closes, "every OPEN has its CLOSE");
});

Deno.test("nfs4 cp --vers 4.1: the OPEN by handle for the rest of a short WRITE (RFC 8881 §18.32.3) refused (NFS4ERR_IO) fails the file with that status, named by the destination URL; the file was made, so its temporary is removed", async () => {
  const server = scripted();
  shortFirstWrite(server, "all");
  server.intercept(
    "OPEN",
    (args) => (args as OpenArgs).claim.claim === OpenClaimType.CLAIM_FH ? S.NFS4ERR_IO : undefined,
    { times: 10 },
  );
  const [r] = await withSource(
    content(),
    (src) => runScripted(server, [["--vers", "4.1", "cp", `${src}/f`, "@/vfs/d/new"]]),
  );
  assert.equal(r!.code, 1, r!.stderr);
  assert.equal(r!.stderr, "nfs4: @/vfs/d/new: Input/output error (NFS4ERR_IO)\n");
  assert.deepEqual(temporaries(server, "/vfs/d"), []);
  assert.equal(server.file("/vfs/d/new"), undefined);
});

/**
 * A server whose VERIFY lets a short WRITE through (its count or its size
 * not true): before each VERIFY the temporary is filled out to the size the
 * WRITE was sent, with zeros, so the COMPOUND goes on to its LINK.
 */
function verifyLetsShortWriteThrough(server: ScriptedServer): void {
  server.intercept("VERIFY", (args, s) => {
    const size = Number((args as { size?: bigint }).size);
    for (const [name, node] of s.file("/vfs/d")!.children) {
      if (!name.includes(".nfs4-") || node.data.length >= size) continue;
      const data = new Uint8Array(size);
      data.set(node.data);
      node.data = data;
    }
  }, { times: 100 });
}

Deno.test("nfs4 cp -n --vers 4.1: a file placed in its one COMPOUND though its WRITE was short (a VERIFY, RFC 8881 §18.31, that let it through) gets the rest through an OPEN of its handle (RFC 8881 §18.32.3) and ends byte-exact; placing in the COMPOUND is given up for the next file", async () => {
  const data = content();
  const server = scripted();
  shortFirstWrite(server, "all");
  verifyLetsShortWriteThrough(server);
  const [r] = await withSource(data, async (src) => {
    await Deno.writeFile(`${src}/g`, data);
    return await runScripted(server, [[
      "--vers",
      "4.1",
      "cp",
      "-n",
      `${src}/f`,
      `${src}/g`,
      "@/vfs/d/",
    ]]);
  });
  assert.equal(r!.code, 0, r!.stderr);
  assert.deepEqual(server.file("/vfs/d/f")?.data, data);
  assert.deepEqual(server.file("/vfs/d/g")?.data, data);
  assert.deepEqual(temporaries(server, "/vfs/d"), []);
  const shapes = server.log.map((e) => e.ops.slice(1).join(" ")).filter((ops) =>
    ops.includes("OPEN")
  );
  assert.deepEqual(shapes, [
    "PUTFH OPEN GETFH GETATTR WRITE VERIFY SETATTR CLOSE SAVEFH PUTFH LINK REMOVE",
    "PUTFH OPEN",
    // Placing given up: the next file is placed by its own LINK after it.
    "PUTFH OPEN GETFH GETATTR WRITE SETATTR CLOSE",
  ]);
});

Deno.test("nfs4 cp -n --vers 4.1: a file placed in its one COMPOUND though its WRITE was short (RFC 8881 §18.31, §18.32.3), whose rest meets NFS4ERR_NOSPC, loses its final name again and fails with that status, named by the destination URL", async () => {
  const server = scripted();
  shortFirstWrite(server, "nospc");
  verifyLetsShortWriteThrough(server);
  const [r] = await withSource(
    content(),
    (src) => runScripted(server, [["--vers", "4.1", "cp", "-n", `${src}/f`, "@/vfs/d/placed"]]),
  );
  assert.equal(r!.code, 1, r!.stderr);
  assert.equal(r!.stderr, "nfs4: @/vfs/d/placed: No space left on device (NFS4ERR_NOSPC)\n");
  assert.equal(server.file("/vfs/d/placed"), undefined, "its final name taken back");
  assert.deepEqual(temporaries(server, "/vfs/d"), []);
});

// ---------------------------------------------------------------- Ganesha

/**
 * Runs `fn` with NFS-Ganesha exporting a tmpfs of 256 KiB as /vfs, filled
 * but for 40 KiB: a WRITE of 60000 bytes there writes 40960 (the page
 * cache's ENOSPC part-way, a short pwrite(2) that Ganesha answers NFS4_OK)
 * and the next one fails NFS4ERR_NOSPC.
 */
async function withFullTmpfs(
  fn: (server: TestServer, url: string, root: string) => Promise<void>,
): Promise<void> {
  const root = await Deno.makeTempDir({ prefix: "nfs4-short-write-fs-" });
  const mounted = await new Deno.Command("mount", {
    args: ["-t", "tmpfs", "-o", "size=256k,mode=1777", "tmpfs", root],
  }).output();
  assert.equal(mounted.code, 0, new TextDecoder().decode(mounted.stderr));
  const state = await Deno.makeTempDir({ prefix: "nfs4-short-write-state-" });
  try {
    // 40 KiB left once /old has its page.
    await Deno.writeFile(`${root}/filler`, new Uint8Array(256 * 1024 - 44 * 1024).fill(1));
    await Deno.writeTextFile(`${root}/old`, "old contents\n");
    await withServer((server) => fn(server, `${server.url}/vfs`, root), {
      exportDir: root,
      dir: state,
    });
  } finally {
    await new Deno.Command("umount", { args: [root] }).output();
    await fs.rm(root, { recursive: true, force: true });
    await fs.rm(state, { recursive: true, force: true });
  }
}

/** `nfs4 argv` in-process (as the CLI runs it): exit code and stderr. */
async function nfs4(argv: string[]): Promise<{ code: number; stderr: string }> {
  const stdout = new FakeStream();
  const stderr = new FakeStream();
  const code = await run(argv, {
    stdout,
    stderr,
    env: {},
    now: () => new Date(),
    timeZone: "UTC",
    connect: connectClient,
    ids: () => NO_IDS,
  });
  await new Promise((resolve) => setTimeout(resolve, 5));
  return { code, stderr: stderr.text() };
}

/** Names under `dir` that are a copy's temporary. */
async function localTemporaries(dir: string): Promise<string[]> {
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.name.includes(".nfs4-")) names.push(e.name);
  return names;
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test({
    name:
      `nfs4 cp --vers ${version} against NFS-Ganesha on a nearly full file system: the one COMPOUND's WRITE writes 40960 of 60000 bytes with NFS4_OK (RFC 8881 §18.32.3, RFC 7530 §16.36.4), the rest is sent and meets NFS4ERR_NOSPC: each shape fails naming the destination URL, its temporary removed`,
    ignore: !hasGanesha,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () =>
      withFullTmpfs(async (_server, url, root) => {
        await withSource(content(), async (src) => {
          for (
            const [args, dest] of [
              [[`${src}/f`, `${url}/new60k`], `${url}/new60k`],
              [[`${src}/f`, `${url}/old`], `${url}/old`],
              [["-r", `${src}/t`, `${url}/made`], `${url}/made/f`],
            ] as const
          ) {
            const trace = `${src}/trace.jsonl`;
            const r = await nfs4([
              "--vers",
              version,
              "--trace=json,retry",
              "--trace-file",
              trace,
              "cp",
              ...args,
            ]);
            assert.equal(r.code, 1, r.stderr);
            const hint = dest === `${url}/old` ? ` ${ROOM_HINT}` : "";
            assert.equal(
              r.stderr,
              `nfs4: ${dest}: No space left on device (NFS4ERR_NOSPC)${hint}\n`,
            );
            // The server's own short WRITE, its rest sent after it.
            const events = await Deno.readTextFile(trace);
            assert.match(events, /short WRITE.*40960 of 60000 bytes written/, events);
          }
        });
        assert.deepEqual(await localTemporaries(root), []);
        assert.deepEqual(await localTemporaries(`${root}/made`), []);
        assert.equal(await Deno.readTextFile(`${root}/old`), "old contents\n");
        await assert.rejects(Deno.stat(`${root}/new60k`), Deno.errors.NotFound);
        await assert.rejects(Deno.stat(`${root}/made/f`), Deno.errors.NotFound);
      }),
  });
}

Deno.test({
  name:
    "copy() --vers 4.1 as a user (uid 1000) against NFS-Ganesha on a nearly full file system: a short WRITE (RFC 8881 §18.32.3) of a file whose mode its owner may not write (0444) gets its rest through an OPEN by handle, which Ganesha refuses NFS4ERR_ACCESS until the owner's write bit is back: the copy fails with the rest's own NFS4ERR_NOSPC, not ACCESS",
  ignore: !hasGanesha,
  sanitizeOps: false,
  sanitizeResources: false,
  fn: () =>
    withFullTmpfs(async (server, url, root) => {
      await withSource(content(), async (src) => {
        await Deno.chmod(`${src}/f`, 0o444);
        const client = await Nfs4Client.connect({
          host: "127.0.0.1",
          port: server.port,
          version: "4.1",
          uid: 1000,
          gid: 1000,
          clientId: `nfs4-short-write-${crypto.randomUUID()}`,
        });
        try {
          const errors: unknown[] = [];
          const summary = await copy([parseLocation(`${src}/f`)], parseLocation(`${url}/ro`), {
            connect: () => Promise.resolve(client),
            onError: (e) => errors.push(e),
          });
          assert.equal(summary.files, 0);
          assert.equal(errors.length, 1, String(errors));
          const e = errors[0];
          assert.ok(e instanceof NfsError, String(e));
          assert.equal(e.statusName, "NFS4ERR_NOSPC", String(e));
          assert.equal(e.path, `${url}/ro`);
          assert.deepEqual(client.describeState().opens, []);
        } finally {
          await client.close();
        }
      });
      assert.deepEqual(await localTemporaries(root), []);
    }),
});
