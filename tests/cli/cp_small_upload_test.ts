/**
 * `cp -r` of small files to the server in few COMPOUNDs
 * (lib/client/copy/nfs_side.ts, Nfs4Client.createExclusiveIn/renameIn,
 * lib/state/small_upload.ts), against NFS-Ganesha on NFSv4.0 and 4.1.
 *
 * Each file's temporary is OPENed (exclusive create) and RENAMEd into place
 * by name from its directory's handle, walked once per directory for the
 * copy; on 4.1 a file of one WRITE is written, given its size, mode and
 * times and CLOSEd in one COMPOUND (RFC 8881 §16.2.3). The tree arrives
 * byte-exact with its modes, no temporary stays behind, nothing stays open,
 * and on 4.1 a small file costs four COMPOUNDs: the destination check (a
 * LOOKUP from the directory's handle too), the OPEN, WRITE+SETATTR+CLOSE,
 * the RENAME.
 */

import assert from "node:assert/strict";
import { serverTest } from "../_server.ts";
import { messageLines, nfs4, traceEvents } from "./_spawn.ts";

const FILES = 24;

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 cp -r --vers ${vers}: small files go to the server through temporaries opened and renamed from their directory's handle, byte-exact, nothing left behind`,
    async (server) => {
      const src = await Deno.makeTempDir({ prefix: "nfs4-up-" });
      try {
        const contents = new Map<string, Uint8Array>();
        await Deno.mkdir(`${src}/sub`);
        for (let i = 0; i < FILES; i++) {
          // Empty, one byte, 4 KiB, and one larger than a WRITE (the usual path).
          const size = i === 0 ? 0 : i === 1 ? 1 : i === 2 ? 3 * 1024 * 1024 + 5 : 4096;
          const data = crypto.getRandomValues(new Uint8Array(Math.min(size, 65536)));
          const whole = new Uint8Array(size);
          for (let at = 0; at < size; at += data.length) {
            whole.set(data.subarray(0, Math.min(data.length, size - at)), at);
          }
          const name = `${i % 2 ? "sub/" : ""}f${i}`;
          contents.set(name, whole);
          await Deno.writeFile(`${src}/${name}`, whole, { mode: i % 3 ? 0o640 : 0o755 });
          await Deno.chmod(`${src}/${name}`, i % 3 ? 0o640 : 0o755);
        }
        const r = await nfs4([
          "--vers",
          vers,
          "--trace=json,ops",
          "cp",
          "-r",
          src,
          `${server.url}/vfs/up`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(messageLines(r.stderr), []);
        const dest = `${server.exportDir}/up`;
        for (const [name, data] of contents) {
          const got = await Deno.readFile(`${dest}/${name}`);
          assert.equal(got.length, data.length, name);
          assert.ok(got.every((b, i) => b === data[i]), `${name} byte-exact`);
          const mode = (await Deno.stat(`${dest}/${name}`)).mode! & 0o7777;
          assert.equal(mode, (await Deno.stat(`${src}/${name}`)).mode! & 0o7777, `${name} mode`);
        }
        // No temporary behind.
        const names = [...Deno.readDirSync(dest)].map((e) => e.name).sort();
        const subNames = [...Deno.readDirSync(`${dest}/sub`)].map((e) => e.name).sort();
        assert.equal(names.length + subNames.length - 1, FILES, [...names, ...subNames].join(" "));

        const compounds = traceEvents(r.stderr).filter((e) => e.cat === "ops" && !e.summary)
          .map((e) => (e.ops as { op: string; status: string }[]).map((o) => o.op).join(" "));
        const count = (shape: string) => compounds.filter((c) => c === shape).length;
        const seq = vers === "4.1" ? "SEQUENCE " : "";
        // Every destination checked, every temporary OPENed and RENAMEd,
        // from its directory's handle.
        assert.ok(
          compounds.filter((c) => c.startsWith(`${seq}PUTFH LOOKUP`)).length >= FILES,
          compounds.join("\n"),
        );
        assert.equal(count(`${seq}PUTFH OPEN GETFH GETATTR`), FILES);
        assert.equal(count(`${seq}PUTFH SAVEFH PUTFH RENAME`), FILES);
        if (vers === "4.1") {
          // Files of one WRITE (all but the large one): WRITE+SETATTR+CLOSE,
          // or SETATTR+CLOSE for the empty one.
          assert.equal(count("SEQUENCE PUTFH WRITE SETATTR CLOSE"), FILES - 2);
          assert.equal(count("SEQUENCE PUTFH SETATTR CLOSE"), 1);
          // Four COMPOUNDs per small file, and a few for the rest.
          assert.ok(compounds.length <= 4 * FILES + 40, `${compounds.length} COMPOUNDs`);
        }
        // Nothing left open: every OPEN has its CLOSE.
        const opens = compounds.filter((c) => c.includes("OPEN ")).length;
        const closes = compounds.filter((c) => c.includes("CLOSE")).length;
        assert.equal(closes, opens);
      } finally {
        await Deno.remove(src, { recursive: true });
      }
    },
  );
}
