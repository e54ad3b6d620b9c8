/**
 * Small files read with their OPEN (lib/client/small_file.ts,
 * lib/state/small_file.ts).
 *
 * Against NFS-Ganesha, on NFSv4.0 and NFSv4.1: one `nfs4 cat` of a mix of
 * files (empty, 4 KiB, exactly the first READ's size and one byte more, a
 * few MiB, one named twice) is byte-exact; on 4.1 each small file costs at
 * most one COMPOUND (PUTFH OPEN GETFH GETATTR READ CLOSE, RFC 8881
 * §16.2.3.1.2, several files to a COMPOUND) after one walk of their
 * directory; every OPEN has its CLOSE and the server holds no open
 * afterwards.
 *
 * Through seeded connection cuts (tests/_fault_proxy.ts), a cat of 150
 * small files is byte-exact when it exits 0, every OPEN it made has its
 * CLOSE, 4.1 slots never carry two requests, and the server holds nothing
 * afterwards: whole COMPOUNDs of several files' OPEN..CLOSE are resent as
 * themselves (RFC 8881 §2.10.6.1; RFC 7530 §9.1.9), never rebuilt.
 *
 * Against the scripted server over TCP: a directory handle that went stale
 * (NFS4ERR_STALE, RFC 8881 §15.1.2.7) is walked again once, and a file by
 * that name is then read as usual.
 */

import assert from "node:assert/strict";
import { withScriptedClient } from "./_scripted_client.ts";
import { DEFAULT_PREFETCH_BYTES } from "../../lib/client/many_files.ts";
import { DirectoryHandles, PrefetchedFile } from "../../lib/client/small_file.ts";
import { FileClosedError } from "../../lib/client/errors.ts";
import { Op } from "../../lib/nfs4/constants.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { oneCompoundReadCount } from "../../lib/state/small_file.ts";
import { FAULT_BASE_SEED, runNfs4, startProxy } from "../cli/_faults.ts";
import { serverTest } from "../_server.ts";
import {
  exclusiveOpenStatus,
  messageLines,
  nfs4Hashed,
  probeClient,
  sha256,
  traceEvents,
} from "../cli/_spawn.ts";

const MiB = 1 << 20;

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 cat --vers ${vers}: small and large files mixed in one cat are byte-exact, small ones read with their OPEN, nothing left open`,
    async (server) => {
      // The first READ's size: what the one-COMPOUND shape may ask for on
      // 4.1 (the session's cached reply size, less room for the rest), the
      // read-ahead size on 4.0.
      const probe = await probeClient(server, vers);
      const first = oneCompoundReadCount(probe.manager, DEFAULT_PREFETCH_BYTES) ||
        DEFAULT_PREFETCH_BYTES;
      await probe.close();
      assert.ok(first >= 4096, `first READ ${first}`);

      const dir = `${server.exportDir}/d`;
      await Deno.mkdir(dir);
      const sizes: Record<string, number> = {
        empty: 0,
        small: 4096,
        exact: first,
        over: first + 1,
        big: 3 * MiB + 7,
        tiny: 5,
      };
      const contents: Record<string, Uint8Array> = {};
      for (const [name, size] of Object.entries(sizes)) {
        const data = new Uint8Array(size);
        for (let at = 0; at < size; at += 65536) {
          crypto.getRandomValues(data.subarray(at, Math.min(size, at + 65536)));
        }
        contents[name] = data;
        await Deno.writeFile(`${dir}/${name}`, data);
      }
      const order = ["small", "empty", "exact", "big", "over", "tiny", "small"];
      const expected = new Uint8Array(order.reduce((n, name) => n + sizes[name]!, 0));
      let at = 0;
      for (const name of order) {
        expected.set(contents[name]!, at);
        at += sizes[name]!;
      }

      const r = await nfs4Hashed([
        "cat",
        "--vers",
        vers,
        "--trace=json,ops,open",
        ...order.map((name) => `${server.url}/vfs/d/${name}`),
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(messageLines(r.stderr), []);
      assert.equal(r.size, expected.length);
      assert.equal(r.sha256, sha256(expected), "byte-exact");

      const events = traceEvents(r.stderr);
      const compounds = events.filter((e) => e.cat === "ops" && !e.summary)
        .map((e) => (e.ops as { op: string; status: string }[]));
      const names = (ops: { op: string }[]) => ops.map((o) => o.op).join(" ");
      const allOk = (ops: { status: string }[]) => ops.every((o) => o.status === "NFS4_OK");
      const larger = order.filter((name) => sizes[name]! > first).length;
      let reopens = 0;
      const smaller = order.length - larger;
      // One walk of the directory for all of them.
      assert.equal(compounds.filter((ops) => names(ops).includes("LOOKUP")).length, 1);
      if (vers === "4.1") {
        // Every file is first sent in the shape PUTFH OPEN GETFH GETATTR
        // READ CLOSE, several files to a COMPOUND (all NFS4_OK here): for a
        // small file that is all; a larger one is opened again and read on.
        const shape = "PUTFH OPEN GETFH GETATTR READ CLOSE";
        let shapes = 0;
        let withShapes = 0;
        for (const ops of compounds) {
          const text = names(ops);
          if (!text.startsWith(`SEQUENCE ${shape}`)) continue;
          const files = (ops.length - 1) / 6;
          assert.equal(text, ["SEQUENCE", ...Array(files).fill(shape)].join(" "));
          assert.ok(allOk(ops), text);
          shapes += files;
          withShapes++;
        }
        assert.equal(shapes, order.length, "each file in the shape once");
        assert.ok(withShapes < smaller, `${withShapes} COMPOUNDs for ${smaller} small files`);
        const reopened = compounds.filter((ops) =>
          names(ops) === "SEQUENCE PUTFH OPEN GETFH GETATTR"
        );
        const closedAlone = compounds.filter((ops) => names(ops) === "SEQUENCE PUTFH CLOSE");
        assert.ok(reopened.length >= larger, `${reopened.length} opened again`);
        assert.equal(closedAlone.length, reopened.length);
        // Nothing else opens: OPENs are the shapes and the re-opens.
        const opens = compounds.filter((ops) => names(ops).includes("OPEN")).length;
        assert.equal(opens, withShapes + reopened.length);
        reopens = reopened.length;
      } else {
        // OPEN (+OPEN_CONFIRM once), then READ+CLOSE for each file that fits.
        assert.equal(
          compounds.filter((ops) => names(ops) === "PUTFH OPEN GETFH GETATTR").length,
          order.length,
        );
        assert.equal(
          compounds.filter((ops) => names(ops) === "PUTFH READ CLOSE" && allOk(ops)).length,
          smaller,
        );
      }

      // A CLOSE for every OPEN, and the server grants an exclusive open of each.
      const opened = events.filter((e) => e.cat === "open" && e.event === "OPEN").length;
      const upgraded = events.filter((e) =>
        e.cat === "open" && e.event === "OPEN (upgrade)"
      ).length;
      const closed = events.filter((e) => e.cat === "open" && e.event === "CLOSE").length;
      assert.equal(opened, order.length + reopens);
      assert.equal(closed, opened, `${opened} OPENs (${upgraded} upgrades), ${closed} CLOSEs`);
      for (const name of Object.keys(sizes)) {
        assert.equal(await exclusiveOpenStatus(server, vers, `/vfs/d/${name}`), "NFS4_OK", name);
      }
    },
  );
}

for (const version of ["4.0", "4.1"] as const) {
  Deno.test(`Nfs4Client.openReadAhead() ${version}: a stale directory handle is walked again once`, async () => {
    await withScriptedClient(
      {
        files: { "/vfs/d/a": "first\n", "/vfs/d/b": "second\n" },
      },
      version,
      "small-stale",
      async (client, server, events) => {
        const directories = new DirectoryHandles();
        const read = async (path: string) => {
          const file = await client.openReadAhead(path, { count: 65536, directories });
          assert.ok(file instanceof PrefetchedFile);
          const parts: string[] = [];
          for await (const chunk of file.chunks()) parts.push(new TextDecoder().decode(chunk));
          await file.close();
          return parts.join("");
        };
        assert.equal(await read("/vfs/d/a"), "first\n");
        // The cached handle of /vfs/d is stale now (a directory replaced
        // behind the server's cache): the next PUTFH of it fails.
        server.failNext("PUTFH", S.NFS4ERR_STALE);
        assert.equal(await read("/vfs/d/b"), "second\n");
        assert.ok(
          events.some((e) => e.startsWith("directory walk again (/vfs/d:")),
          events.join("\n"),
        );
        assert.deepEqual(server.opensOf("/vfs/d/a"), []);
        assert.deepEqual(server.opensOf("/vfs/d/b"), []);
        assert.deepEqual(client.describeState().opens, []);
      },
    );
  });
}

/** Seeded cut runs per version (NFS4_FAULT_RUNS caps them). */
const CUT_RUNS = Math.min(8, Math.floor(Number(Deno.env.get("NFS4_FAULT_RUNS") ?? 8)));

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 cat --vers ${vers} of 150 small files through seeded connection cuts: exact on exit 0, a CLOSE per OPEN, nothing left open`,
    async (server) => {
      const names = Array.from({ length: 150 }, (_, i) => `f${i}`);
      await Deno.mkdir(`${server.exportDir}/cut`);
      const parts: Uint8Array[] = [];
      for (const [i, name] of names.entries()) {
        const data = new Uint8Array(i % 50 === 7 ? 70_000 : (i * 997) % 9000);
        crypto.getRandomValues(data.subarray(0, Math.min(data.length, 65536)));
        await Deno.writeFile(`${server.exportDir}/cut/${name}`, data);
        parts.push(data);
      }
      const expect = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        expect.set(p, at);
        at += p.length;
      }
      const args = (vfs: string) => [
        "--vers",
        vers,
        "--timeout",
        "5",
        "--trace=json,open",
        "cat",
        ...names.map((n) => `${vfs}/cut/${n}`),
      ];
      // A clean run says how many bytes go each way.
      let bytes: { toServer: number; toClient: number };
      {
        await using f = await startProxy(server);
        const r = await runNfs4(args(f.vfs), { expect, killAfterMs: 120_000 });
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.firstMismatch, undefined);
        bytes = { toServer: f.proxy.stats.toServer.bytes, toClient: f.proxy.stats.toClient.bytes };
      }
      // The reply to the first COMPOUND with a CLOSE (several files' OPEN
      // .. CLOSE, 4.1; a READ+CLOSE, 4.0) lost with its connection: the
      // resend is answered from the server's reply cache, where Ganesha 4.3
      // keeps no READ data (it replays the READs empty, with their eof).
      // The output must still be exact: such a READ is not taken at its word.
      {
        await using f = await startProxy(server);
        // 4.1: a COMPOUND of several files; 4.0: the READ+CLOSE of f1 (997 bytes).
        const dropped = f.proxy.dropReplyAndCut(
          "CLOSE",
          vers === "4.1"
            ? { match: (c) => c.opnums.filter((o) => o === Op.OPEN).length >= 2 }
            : { nth: 2 },
        );
        const r = await runNfs4(args(f.vfs), { expect, killAfterMs: 120_000 });
        assert.equal(dropped.matched > 0, true);
        assert.equal(r.code, 0, r.stderr);
        assert.equal(r.firstMismatch, undefined, "exact after a replayed reply");
        assert.equal(r.size, expect.length);
      }
      for (let i = 0; i < CUT_RUNS; i++) {
        const seed = (FAULT_BASE_SEED + i) >>> 0;
        const direction = i % 2 === 0 ? "toClient" : "toServer";
        await using f = await startProxy(server);
        const cut = f.proxy.cutAfterBytes({
          direction,
          seed,
          min: 0,
          max: bytes[direction],
          times: 1 + (i % 3),
        });
        const r = await runNfs4(args(f.vfs), { expect, killAfterMs: 120_000 });
        cut.cancel();
        const what = `seed ${seed} (${direction}, N ${cut.draws.join(", ")}): exit ${r.code}`;
        assert.ok(!r.killed, `${what}: hung`);
        const events = traceEvents(r.stderr);
        if (r.code === 0) {
          if (r.firstMismatch !== undefined) {
            console.error(
              r.stderr.split("\n").filter((l) => !l.includes('"cat":"open"')).join("\n"),
            );
            f.dump();
          }
          assert.equal(r.firstMismatch, undefined, `${what}: output differs at ${r.firstMismatch}`);
          assert.equal(r.size, expect.length, what);
          const count = (event: string) =>
            events.filter((e) => e.cat === "open" && e.event === event).length;
          assert.equal(count("CLOSE"), count("OPEN"), `${what}: a CLOSE per OPEN`);
        } else {
          assert.equal(r.code, 1, `${what}: ${r.stderr}`);
          for (const line of messageLines(r.stderr)) assert.match(line, /^nfs4: /, what);
        }
        if (vers === "4.1") f.proxy.assertSlotSeqidsUnique();
      }
      for (const name of [names[0]!, names[7]!, names[149]!]) {
        assert.equal(await exclusiveOpenStatus(server, vers, `/vfs/cut/${name}`), "NFS4_OK", name);
      }
    },
  );
}

Deno.test("PrefetchedFile: after close() every read throws FileClosedError, and close() twice closes the open once", async () => {
  let closes = 0;
  const rest = {
    path: "/vfs/big",
    size: 10n,
    read: () => Promise.resolve({ data: new Uint8Array(2), eof: true }),
    chunks: async function* () {
      yield new Uint8Array(2);
    },
    close: () => {
      closes++;
      return Promise.resolve();
    },
  } as unknown as ConstructorParameters<typeof PrefetchedFile>[4];
  const file = new PrefetchedFile("/vfs/big", 10n, new Uint8Array(8), false, rest);
  assert.equal((await file.read(0n, 4)).data.length, 4);
  const first = file.close();
  assert.equal(file.close(), first);
  await first;
  assert.equal(closes, 1);
  await assert.rejects(file.read(0n, 4), FileClosedError);
  await assert.rejects(file.read(8n, 2), FileClosedError);
  await assert.rejects(async () => {
    for await (const _ of file.chunks()) { /* nothing may come */ }
  }, FileClosedError);
  // A file read whole with its OPEN (nothing left open) refuses reads too.
  const whole = new PrefetchedFile("/vfs/small", 3n, new Uint8Array(3), true, undefined);
  await whole.close();
  await assert.rejects(whole.read(0n, 3), FileClosedError);
});

Deno.test("PrefetchedFile: read() and chunks() refuse an offset or count their fields cannot hold, as the client's own handle does", async () => {
  const head = Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const file = new PrefetchedFile("/vfs/small", 8n, head, true, undefined);
  // A negative count sliced the head from its end (2 bytes for -6).
  await assert.rejects(
    file.read(0n, -6),
    new RangeError("/vfs/small: read count must be a non-negative integer below 2^32, got -6"),
  );
  await assert.rejects(
    file.read(0n, 1.5),
    new RangeError("/vfs/small: read count must be a non-negative integer below 2^32, got 1.5"),
  );
  await assert.rejects(
    file.read(-1n, 4),
    new RangeError("/vfs/small: read offset must be a non-negative integer below 2^64, got -1"),
  );
  await assert.rejects(
    file.read(0 as unknown as bigint, 4),
    new TypeError("/vfs/small: read offset must be a bigint, got 0 (number)"),
  );
  await assert.rejects(async () => {
    for await (const _ of file.chunks(-2n)) { /* nothing may come */ }
  }, new RangeError("/vfs/small: read offset must be a non-negative integer below 2^64, got -2"));
  assert.deepEqual((await file.read(6n, 4)).data, Uint8Array.from([7, 8]));
});
