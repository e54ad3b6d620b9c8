/**
 * `nfs4 lock` waiting for a lock another `nfs4` process holds, against
 * Ganesha on NFSv4.0 and NFSv4.1: polling with blocking LOCKs until the
 * holder lets go (RFC 7530 §9.4), `-n`, `-w`, `-E`. On 4.0 every denied LOCK
 * and the final one carry the open and lock seqids in order (the server would
 * answer NFS4ERR_BAD_SEQID otherwise).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { conflictLine, heldBy, nfs4, startHolder, startNfs4, stopHolder } from "./_lock.ts";

interface TraceLine {
  t: number;
  cat: string;
  event: string;
  detail?: string;
}

function traceOf(stderr: string): TraceLine[] {
  return stderr.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock: a waiter gets the lock once the holder's COMMAND ends (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = startNfs4([...v, "lock", url, "--", "sh", "-c", "echo held; sleep 1.5"]);
      await holder.waitFor("stdout", /^held$/m);
      const waiter = startNfs4([
        ...v,
        "--trace=json",
        "lock",
        url,
        "--",
        "sh",
        "-c",
        "echo got it",
      ]);
      const [held, waited] = await Promise.all([holder.done, waiter.done]);
      assert.equal(held.code, 0, held.stderr);
      assert.equal(held.stderr, "");
      assert.equal(waited.code, 0, waited.stderr);
      assert.equal(waited.stdout, "got it\n");
      assert.ok(waited.endedAt > held.endedAt, "the waiter ran its command after the holder");

      const events = traceOf(waited.stderr);
      const denied = events.filter((e) => e.event === "LOCK denied, waiting");
      assert.ok(denied.length >= 2, `denials: ${denied.length}`);
      assert.match(denied[0]!.detail!, /^exclusive lock on bytes 0- held by lock owner lock-p/);
      // Backoff: the pauses grow.
      const pauses = denied.map((e) => Number(/in (\d+) ms/.exec(e.detail!)?.[1]));
      assert.deepEqual(pauses.slice(0, 3), [100, 200, 400].slice(0, pauses.length));
      // The final LOCK made the lock stateid; then LOCKU and CLOSE.
      const order = events.map((e) => `${e.cat} ${e.event}`);
      const taken = order.findIndex((e) => e === "lock LOCK");
      assert.ok(taken > order.lastIndexOf("retry LOCK denied, waiting"), order.join("\n"));
      assert.ok(order.indexOf("lock LOCKU") > taken);
      assert.ok(order.indexOf("open CLOSE") > order.indexOf("lock LOCKU"));
      if (vers === "4.0") assert.ok(order.some((e) => /^owner RELEASE_LOCKOWNER /.test(e)));
      else assert.ok(order.includes("clid DESTROY_CLIENTID ok"), order.join("\n"));
      assert.ok(!order.some((e) => /BAD_SEQID|BAD_STATEID/.test(e)), order.join("\n"));
    },
  );

  serverTest(
    `nfs4 lock: -n fails at once naming the holder's range, -w gives up in time, -E sets the status (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = await startHolder(
        [...v, "lock", "-s", "--range", "100:50", url],
        url,
        "shared",
        "100-149",
      );
      const holderText = heldBy("shared", "100-149", holder.owner);

      const nonblock = await nfs4([...v, "lock", "-n", "--range", "120:10", url, "--", "true"]);
      assert.equal(nonblock.code, 1);
      assert.equal(nonblock.stdout, "");
      assert.match(nonblock.stderr, conflictLine(url, holderText));
      assert.ok(nonblock.ms < 3_000, `-n took ${nonblock.ms} ms`);

      const code = await nfs4([...v, "lock", "-n", "-E", "42", url, "--", "true"]);
      assert.equal(code.code, 42, code.stderr);
      assert.match(code.stderr, conflictLine(url, holderText));

      const timed = await nfs4([...v, "lock", "-w", "2", url, "--", "echo", "ran"]);
      assert.equal(timed.code, 1);
      assert.equal(timed.stdout, "");
      assert.match(
        timed.stderr,
        conflictLine(url, holderText, "; gave up after 2\\.\\d s", { mayBeEarlier: true }),
      );
      assert.ok(timed.ms >= 2_000 && timed.ms < 5_000, `-w 2 took ${timed.ms} ms`);

      const timedCode = await nfs4([...v, "lock", "-w", "0.5", "-E", "75", url]);
      assert.equal(timedCode.code, 75);
      assert.match(
        timedCode.stderr,
        conflictLine(url, holderText, "; gave up after 0\\.\\d s", { mayBeEarlier: true }),
      );

      await stopHolder(holder);
    },
  );
}
