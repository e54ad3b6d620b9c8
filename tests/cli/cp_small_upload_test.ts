/**
 * `cp -r` of small files to the server in few COMPOUNDs
 * (lib/client/copy/nfs_side.ts, Nfs4Client.createExclusiveIn/renameIn,
 * lib/state/small_upload.ts, lib/client/copy/file.ts), against NFS-Ganesha
 * on NFSv4.0 and 4.1.
 *
 * Each file's temporary is OPENed (exclusive create) by name from its
 * directory's handle, walked once per directory for the copy; on 4.1 a
 * small file is made, written, given its size, mode and times and CLOSEd
 * in one COMPOUND with the current stateid (RFC 8881 §16.2.3.1.2,
 * lib/state/small_create.ts). In a directory the copy made, the
 * destination is not looked up: the temporary takes its name with LINK,
 * which fails on a name taken (RFC 7530 §16.9, RFC 8881 §18.9), and its own
 * name goes with REMOVE in the same COMPOUND (on 4.1 the file's own, its
 * owner too with `-a`); so a small file costs one COMPOUND on 4.1, a file
 * someone else put there meanwhile is never replaced, and a LINK whose
 * reply was lost is looked up, not failed. Into
 * a directory that was there, each destination is looked up and replaced
 * by RENAME. The tree arrives byte-exact with its modes, no temporary stays
 * behind, nothing stays open.
 */

import assert from "node:assert/strict";
import { opName } from "../../lib/nfs4/constants.ts";
import { serverTest } from "../_server.ts";
import { messageLines, nfs4, traceEvents } from "./_spawn.ts";
import { FAULT_BASE_SEED, runNfs4, type RunResult, startProxy } from "./_faults.ts";

const FILES = 24;

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 cp -r --vers ${vers}: small files go to the server through temporaries opened and linked (new directory) or renamed (existing) from their directory's handle, byte-exact, nothing left behind`,
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
        // Every temporary OPENed, and given its name by LINK (its own name
        // REMOVEd in the same COMPOUND), from its directory's handle; in
        // directories this copy made, no file's destination is looked up
        // first. What is looked up from a directory's handle is the
        // directories' own names, never followed (a symlink there is not
        // the tree): `up` and `up/sub` before they are made, and `up` again
        // when its tree is guarded.
        assert.equal(count(`${seq}PUTFH LOOKUP`), 2, compounds.join("\n"));
        assert.equal(count(`${seq}PUTFH LOOKUP GETFH GETATTR`), 1, compounds.join("\n"));
        assert.equal(
          compounds.filter((c) => c.startsWith(`${seq}PUTFH LOOKUP`)).length,
          3,
          compounds.join("\n"),
        );
        assert.equal(count(`${seq}PUTFH SAVEFH PUTFH RENAME`), 0);
        if (vers === "4.1") {
          // Small files (all but the large one) made, written (VERIFY: the
          // whole of it, RFC 8881 §18.31), given their size, mode and times,
          // closed and given their final names in one COMPOUND (the empty
          // one without a WRITE); the large one OPENed alone, as soon as it
          // is known to be large, and LINKed on its own.
          assert.equal(
            count(
              "SEQUENCE PUTFH OPEN GETFH GETATTR WRITE VERIFY SETATTR CLOSE SAVEFH PUTFH LINK REMOVE",
            ),
            FILES - 2,
            compounds.join("\n"),
          );
          assert.equal(
            count("SEQUENCE PUTFH OPEN GETFH GETATTR SETATTR CLOSE SAVEFH PUTFH LINK REMOVE"),
            1,
          );
          assert.equal(count("SEQUENCE PUTFH OPEN GETFH GETATTR"), 1);
          assert.equal(count("SEQUENCE PUTFH WRITE SETATTR CLOSE"), 0);
          assert.equal(count("SEQUENCE PUTFH SAVEFH PUTFH LINK REMOVE"), 1);
          // One COMPOUND per small file, and a few for the rest.
          assert.ok(compounds.length <= FILES + 40, `${compounds.length} COMPOUNDs`);
        } else {
          assert.equal(count(`${seq}PUTFH SAVEFH PUTFH LINK REMOVE`), FILES);
          assert.equal(count(`${seq}PUTFH OPEN GETFH GETATTR`), FILES);
          // WRITE+SETATTR, then the CLOSE alone (with its seqid).
          assert.equal(count("PUTFH WRITE SETATTR"), FILES - 2);
          // The exclusive create's mode (each file, RFC 7530 §16.16.5: EXCLUSIVE4
          // carries no attributes), the empty file's end, the large file's SETATTR.
          assert.equal(count("PUTFH SETATTR"), FILES + 2);
        }
        // Nothing left open: every OPEN has its CLOSE.
        const opens = compounds.filter((c) => c.includes("OPEN ")).length;
        const closes = compounds.filter((c) => c.includes("CLOSE")).length;
        assert.equal(closes, opens);

        // Into a directory that was there (up/sub): each destination is
        // looked up, and the file there replaced by RENAME.
        const half = [...contents.keys()].filter((name) => name.startsWith("sub/"));
        for (const name of half) {
          const data = crypto.getRandomValues(new Uint8Array(100));
          contents.set(name, data);
          await Deno.writeFile(`${src}/${name}`, data);
        }
        const again = await nfs4([
          "--vers",
          vers,
          "--trace=json,ops",
          "cp",
          "-r",
          `${src}/sub`,
          `${server.url}/vfs/up`,
        ]);
        assert.equal(again.code, 0, again.stderr);
        for (const name of half) {
          const got = await Deno.readFile(`${dest}/${name}`);
          assert.deepEqual(got, contents.get(name), `${name} replaced`);
        }
        assert.equal([...Deno.readDirSync(`${dest}/sub`)].length, half.length);
        const merged = traceEvents(again.stderr).filter((e) => e.cat === "ops" && !e.summary)
          .map((e) => (e.ops as { op: string; status: string }[]).map((o) => o.op).join(" "));
        assert.equal(
          merged.filter((c) => c === `${seq}PUTFH SAVEFH PUTFH RENAME`).length,
          half.length,
          merged.join("\n"),
        );
        assert.equal(merged.filter((c) => c.includes("LINK")).length, 0);
        assert.ok(
          merged.filter((c) => c.startsWith(`${seq}PUTFH LOOKUP`)).length >= half.length,
          merged.join("\n"),
        );
      } finally {
        await Deno.remove(src, { recursive: true });
      }
    },
  );
}

/** Seeded cut runs per version (NFS4_FAULT_RUNS caps them). */
const CUT_RUNS = Math.min(6, Math.floor(Number(Deno.env.get("NFS4_FAULT_RUNS") ?? 6)));

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 cp -r --vers ${vers} of 60 small files to the server through a lost reply and seeded connection cuts: exact on exit 0, no temporary behind, a CLOSE per OPEN (RFC 8881 §2.10.6.1, RFC 7530 §9.1.9)`,
    async (server) => {
      const src = await Deno.makeTempDir({ prefix: "nfs4-up-cut-" });
      try {
        const contents = new Map<string, Uint8Array>();
        for (let i = 0; i < 60; i++) {
          const data = crypto.getRandomValues(new Uint8Array((i * 997) % 9000));
          contents.set(`f${i}`, data);
          await Deno.writeFile(`${src}/f${i}`, data);
        }
        let run = 0;
        const copy = async (vfs: string) => {
          const dest = `cut${run++}`;
          const r = await runNfs4([
            "--vers",
            vers,
            "--timeout",
            "5",
            "--trace=json,open",
            "cp",
            "-r",
            src,
            `${vfs}/${dest}`,
          ], { killAfterMs: 120_000 });
          return { r, dest: `${server.exportDir}/${dest}` };
        };
        const check = async (what: string, r: RunResult, dest: string) => {
          assert.ok(!r.killed, `${what}: hung`);
          if (r.code !== 0) {
            assert.equal(r.code, 1, `${what}: ${r.stderr}`);
            for (const line of messageLines(r.stderr)) assert.match(line, /^nfs4: /, what);
            return;
          }
          const names = [...Deno.readDirSync(dest)].map((e) => e.name).sort();
          assert.deepEqual(names, [...contents.keys()].sort(), `${what}: no temporary behind`);
          for (const [name, data] of contents) {
            const got = await Deno.readFile(`${dest}/${name}`);
            assert.ok(
              got.length === data.length && got.every((b, i) => b === data[i]),
              `${what}: ${name} byte-exact`,
            );
          }
          const events = traceEvents(r.stderr);
          const count = (event: string) =>
            events.filter((e) => e.cat === "open" && e.event === event).length;
          assert.equal(count("CLOSE"), count("OPEN"), `${what}: a CLOSE per OPEN`);
        };
        let bytes: { toServer: number; toClient: number };
        {
          await using f = await startProxy(server);
          const { r, dest } = await copy(f.vfs);
          assert.equal(r.code, 0, r.stderr);
          await check("clean", r, dest);
          bytes = {
            toServer: f.proxy.stats.toServer.bytes,
            toClient: f.proxy.stats.toClient.bytes,
          };
        }
        {
          // The reply to a COMPOUND with a CLOSE lost with its connection (4.1:
          // OPEN+WRITE+SETATTR+CLOSE; 4.0: a CLOSE): the resend is answered from
          // the server's reply cache (4.1) or the owner's replay cache (4.0).
          await using f = await startProxy(server);
          const dropped = f.proxy.dropReplyAndCut("CLOSE", { nth: 3 });
          const { r, dest } = await copy(f.vfs);
          assert.ok(dropped.matched > 0);
          assert.equal(r.code, 0, r.stderr);
          await check("lost CLOSE reply", r, dest);
        }
        {
          // The reply to a LINK+REMOVE lost with its connection: the resend
          // finds the name taken by the first one's LINK (4.0) or is answered
          // from the reply cache (4.1); the name is this file: placed.
          await using f = await startProxy(server);
          const dropped = f.proxy.dropReplyAndCut("LINK", { nth: 3 });
          const { r, dest } = await copy(f.vfs);
          assert.ok(dropped.matched > 0);
          assert.equal(r.code, 0, r.stderr);
          await check("lost LINK reply", r, dest);
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
          const { r, dest } = await copy(f.vfs);
          cut.cancel();
          await check(
            `seed ${seed} (${direction}, N ${cut.draws.join(", ")}): exit ${r.code}`,
            r,
            dest,
          );
          if (vers === "4.1") f.proxy.assertSlotSeqidsUnique();
        }
      } finally {
        await Deno.remove(src, { recursive: true });
      }
    },
  );
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 cp -r --vers ${vers}: a file someone else puts in a directory the copy made is never replaced (LINK: NFS4ERR_EXIST, RFC 7530 §16.9); the copy says so, no temporary behind`,
    async (server) => {
      const src = await Deno.makeTempDir({ prefix: "nfs4-up-race-" });
      try {
        await Deno.mkdir(`${src}/d`);
        await Deno.writeFile(`${src}/d/f`, new TextEncoder().encode("ours\n"));
        await using f = await startProxy(server);
        const theirs = `${server.exportDir}/race/d/f`;
        // Once the copy has made race/d (the second CREATE; the first made
        // race), the name appears in it, made by another: before the file's
        // LINK, which on 4.1 goes in the COMPOUND that makes and writes it.
        f.proxy.onReply({
          op: "CREATE",
          times: 2,
          action: "rewrite",
          rewrite: (record) => {
            try {
              Deno.writeFileSync(theirs, new TextEncoder().encode("theirs\n"));
            } catch (e) {
              if (!(e instanceof Deno.errors.NotFound)) throw e;
            }
            return record;
          },
        });
        const r = await runNfs4(["--vers", vers, "cp", "-r", src, `${f.vfs}/race`], {
          killAfterMs: 60_000,
        });
        assert.equal(r.code, 1, r.stderr);
        // On 4.1 the LINK that met the name went in the file's own COMPOUND; none went after it.
        const links = f.proxy.compoundsWith("LINK").map((c) => c.opnums.map(opName).join(" "));
        assert.deepEqual(links, [
          vers === "4.1"
            ? "SEQUENCE PUTFH OPEN GETFH GETATTR WRITE VERIFY SETATTR CLOSE SAVEFH PUTFH LINK REMOVE"
            : "PUTFH SAVEFH PUTFH LINK REMOVE",
        ]);
        assert.deepEqual(messageLines(r.stderr).filter((line) => !line.startsWith("nfs4: cp:")), [
          `nfs4: cannot create regular file '${f.vfs}/race/d/f': File exists (NFS4ERR_EXIST): made by another while this copy ran`,
        ]);
        assert.equal(Deno.readTextFileSync(theirs), "theirs\n");
        assert.deepEqual([...Deno.readDirSync(`${server.exportDir}/race/d`)].map((e) => e.name), [
          "f",
        ]);
      } finally {
        await Deno.remove(src, { recursive: true });
      }
    },
  );
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 cp -r --vers ${vers} a/d b/d DEST/: the second operand's files replace the first's in the directory the first made, as cp does`,
    async (server) => {
      const src = await Deno.makeTempDir({ prefix: "nfs4-up-merge-" });
      try {
        for (const [tree, text] of [["a", "from a\n"], ["b", "from b\n"]]) {
          await Deno.mkdir(`${src}/${tree}/d`, { recursive: true });
          await Deno.writeTextFile(`${src}/${tree}/d/f`, text!);
        }
        await Deno.mkdir(`${server.exportDir}/merge`);
        const r = await nfs4([
          "--vers",
          vers,
          "cp",
          "-r",
          `${src}/a/d`,
          `${src}/b/d`,
          `${server.url}/vfs/merge/`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(messageLines(r.stderr), []);
        assert.equal(Deno.readTextFileSync(`${server.exportDir}/merge/d/f`), "from b\n");
        assert.deepEqual([...Deno.readDirSync(`${server.exportDir}/merge/d`)].map((e) => e.name), [
          "f",
        ]);
      } finally {
        await Deno.remove(src, { recursive: true });
      }
    },
  );
}

serverTest(
  "nfs4 cp -a --vers 4.1 of small files into a directory it makes: each file made, given its owner and group, written, checked, given its mode and times, closed and placed in one COMPOUND; all kept, nothing behind",
  async (server) => {
    const src = await Deno.makeTempDir({ prefix: "nfs4-up-owned-" });
    try {
      const names = ["a", "b", "c"];
      for (const [i, name] of names.entries()) {
        await Deno.writeTextFile(`${src}/${name}`, `file ${name}\n`);
        await Deno.chown(`${src}/${name}`, 4200 + i, 700 + i);
        await Deno.chmod(`${src}/${name}`, i === 0 ? 0o4750 : 0o640);
        await Deno.utime(`${src}/${name}`, 1000 + i, 2000 + i);
      }
      const r = await nfs4([
        "--vers",
        "4.1",
        "--trace=json,ops",
        "cp",
        "-a",
        src,
        `${server.url}/vfs/owned`,
      ]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(messageLines(r.stderr), []);
      const compounds = traceEvents(r.stderr).filter((e) => e.cat === "ops" && !e.summary)
        .map((e) => (e.ops as { op: string }[]).map((o) => o.op).join(" "));
      const shape =
        "SEQUENCE PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE VERIFY SETATTR CLOSE SAVEFH PUTFH LINK REMOVE";
      assert.equal(compounds.filter((c) => c === shape).length, names.length, compounds.join("\n"));
      assert.equal(compounds.filter((c) => c.includes("OPEN")).length, names.length);
      const dest = `${server.exportDir}/owned`;
      for (const [i, name] of names.entries()) {
        const stat = await Deno.stat(`${dest}/${name}`);
        assert.equal(Deno.readTextFileSync(`${dest}/${name}`), `file ${name}\n`);
        assert.deepEqual(
          [stat.uid, stat.gid, stat.mode! & 0o7777, stat.mtime!.getTime() / 1000],
          [4200 + i, 700 + i, i === 0 ? 0o4750 : 0o640, 2000 + i],
          name,
        );
      }
      assert.deepEqual([...Deno.readDirSync(dest)].map((e) => e.name).sort(), names);
    } finally {
      await Deno.remove(src, { recursive: true });
    }
  },
);

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 cp -p --vers ${vers} of small files: the owner and group each file was given are read back in a COMPOUND the file sends anyway (on 4.1 its one COMPOUND, on 4.0 the owner's SETATTR), never in a GETATTR COMPOUND of their own`,
    async (server) => {
      const src = await Deno.makeTempDir({ prefix: "nfs4-up-readback-" });
      try {
        const names = Array.from({ length: 20 }, (_, i) => `f${String(i).padStart(2, "0")}`);
        for (const [i, name] of names.entries()) {
          await Deno.writeTextFile(`${src}/${name}`, `file ${name}\n`);
          await Deno.chown(`${src}/${name}`, 4300 + i, 800 + i);
        }
        const r = await nfs4([
          "--vers",
          vers,
          "--trace=json,ops",
          "cp",
          "-p",
          "-r",
          src,
          `${server.url}/vfs/readback`,
        ]);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(messageLines(r.stderr), []);
        const compounds = traceEvents(r.stderr).filter((e) => e.cat === "ops" && !e.summary)
          .map((e) => (e.ops as { op: string }[]).map((o) => o.op).join(" "));
        const seq = vers === "4.1" ? "SEQUENCE " : "";
        const count = (ops: string) => compounds.filter((c) => c === ops).length;
        const shown = compounds.join("\n");
        if (vers === "4.1") {
          // Made, given its owner, read back, written, placed: one COMPOUND.
          assert.equal(
            count(
              "SEQUENCE PUTFH OPEN GETFH GETATTR SETATTR GETATTR WRITE VERIFY SETATTR CLOSE SAVEFH PUTFH LINK REMOVE",
            ),
            names.length,
            shown,
          );
        } else {
          // The owner's SETATTR reads it back (each file's, and the
          // directory's); the LINK's COMPOUND then asks nothing.
          assert.equal(count("PUTFH SETATTR GETATTR"), names.length + 1, shown);
          assert.equal(count("PUTFH SAVEFH PUTFH LINK REMOVE"), names.length, shown);
          assert.equal(count("PUTFH GETATTR SAVEFH PUTFH LINK REMOVE"), 0, shown);
        }
        // No GETATTR of a file by its handle alone (at most the directory's
        // maxwrite, asked once).
        assert.ok(count(`${seq}PUTFH GETATTR`) <= 1, shown);
        // Per file: one COMPOUND on 4.1; on 4.0 OPEN, SETATTR of the mode
        // (EXCLUSIVE4), the owner's, WRITE+SETATTR, CLOSE, LINK.
        const perFile = vers === "4.1" ? 1 : 6;
        assert.ok(
          compounds.length <= names.length * perFile + 30,
          `${compounds.length} COMPOUNDs\n${shown}`,
        );
        const dest = `${server.exportDir}/readback`;
        for (const [i, name] of names.entries()) {
          const stat = await Deno.stat(`${dest}/${name}`);
          assert.deepEqual([stat.uid, stat.gid], [4300 + i, 800 + i], name);
          assert.equal(Deno.readTextFileSync(`${dest}/${name}`), `file ${name}\n`);
        }
      } finally {
        await Deno.remove(src, { recursive: true });
      }
    },
  );
}
