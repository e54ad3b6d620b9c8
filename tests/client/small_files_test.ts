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
 * Against the scripted server over TCP: a directory handle that went stale
 * (NFS4ERR_STALE, RFC 8881 §15.1.2.7) is walked again once, and a file by
 * that name is then read as usual.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { DEFAULT_PREFETCH_BYTES } from "../../lib/client/many_files.ts";
import { DirectoryHandles, PrefetchedFile } from "../../lib/client/small_file.ts";
import { Nfs4Status as S } from "../../lib/nfs4/status.ts";
import { oneCompoundReadCount } from "../../lib/state/small_file.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { serverTest } from "../_server.ts";
import { ScriptedServer } from "../state/_scripted.ts";
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
    const server = new ScriptedServer({
      now: () => performance.now(),
      files: { "/vfs/d/a": "first\n", "/vfs/d/b": "second\n" },
    });
    const nfs = await startScriptedNfsServer(server);
    const events: string[] = [];
    const client = await Nfs4Client.connect({
      host: nfs.host,
      port: nfs.port,
      version,
      clientId: `small-stale-${crypto.randomUUID()}`,
      onTrace: (e) => events.push(`${e.event} (${e.detail ?? ""})`),
    });
    try {
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
    } finally {
      await client.close();
      await nfs.close();
    }
  });
}
