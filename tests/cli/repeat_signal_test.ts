/**
 * A SIGTERM repeated soon after the first is the same stop, not a second
 * one (cli/stop_signal.ts): GNU timeout(1) signals its child and then the
 * child's process group, so nfs4 may see two. Taken as "a second signal:
 * exit at once", the repeat skipped the release the first one started: a
 * LOCK in flight granted and left held for the whole lease, a `cp`
 * temporary left on the server, and `lock` claiming that the server still
 * held a lock whose LOCKU had been answered. A second signal of another
 * kind (a person's Ctrl-C) still exits at once, saying what it may leave.
 * Against Ganesha; the fault proxy holds LOCK replies back.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest, type TestServer } from "../_server.ts";
import { FaultProxy } from "../_fault_proxy.ts";
import { type Ended, probeHolder, sleep, startNfs4, startWithLockInFlight } from "./_lock.ts";
import { VERSIONS } from "./_clean_exit.ts";
import { tempDir } from "./_cp.ts";
import { builtBinary } from "./_binary.ts";

for (const vers of VERSIONS) {
  serverTest(
    `nfs4 lock: two SIGTERMs 20 ms apart (timeout(1)) while the LOCK is in flight: ` +
      `it is answered and released, RFC 7530 §9.5 / RFC 8881 §18.10 (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      await using proxy = await FaultProxy.start({ target: server, log: () => {} });
      const locker = await startWithLockInFlight(proxy, ["--vers", vers], 1_000);
      locker.kill("SIGTERM");
      await sleep(20);
      locker.kill("SIGTERM");
      const ended = await locker.done;
      assert.equal(ended.code, 143, ended.stderr);
      assert.equal(ended.stdout, "", "COMMAND never ran");
      // Another client (an owner no nfs4 process uses, so no instance is
      // taken over) finds the range free: nothing left to the lease.
      const holder = await probeHolder(server, vers, "/vfs/f");
      assert.equal(holder, undefined, `the lock is still held: ${ended.stderr}`);
      assert.equal(proxy.opCount("LOCKU"), 1, ended.stderr);
    },
  );
}

serverTest(
  "nfs4 lock: SIGTERM, then Ctrl-C while the LOCK is in flight: exits at once, naming the LOCK that may be granted",
  async (server) => {
    writeFileSync(join(server.exportDir, "f"), "data\n");
    await using proxy = await FaultProxy.start({ target: server, log: () => {} });
    const url = `${proxy.url}/vfs/f`;
    const locker = await startWithLockInFlight(proxy, [], 10_000);
    locker.kill("SIGTERM");
    await sleep(100);
    locker.kill("SIGINT");
    const ended = await locker.done;
    assert.equal(ended.code, 130, ended.stderr);
    assert.equal(ended.stdout, "", "COMMAND never ran");
    assert.ok(
      ended.stderr.includes(
        `exiting with a LOCK for the lock on ${url} unanswered: the server may have granted it`,
      ),
      ended.stderr,
    );
  },
);

/**
 * `nfs4 lock` through the fault proxy, CLOSE replies held back 1 s, whose
 * COMMAND sends nfs4 SIGTERM (which it ignores, as nfs4 passes it on) and
 * exits 0, and 100 ms later `then` from a subshell: that signal comes
 * while nfs4 releases, its LOCKU answered and its CLOSE not.
 */
async function signalledWhileClosing(
  server: TestServer,
  then: "SIGTERM" | "SIGINT",
): Promise<{ ended: Ended; url: string }> {
  writeFileSync(join(server.exportDir, "f"), "data\n");
  await using proxy = await FaultProxy.start({ target: server, log: () => {} });
  proxy.delayReply("CLOSE", 1_000);
  const url = `${proxy.url}/vfs/f`;
  const locker = startNfs4([
    "--vers",
    "4.0",
    "lock",
    url,
    "--",
    "sh",
    "-c",
    `trap '' TERM; kill -TERM $PPID; (sleep 0.1; kill -${then.slice(3)} $PPID) & exit 0`,
  ]);
  const ended = await locker.done;
  assert.equal(proxy.opCount("LOCKU"), 1, ended.stderr);
  return { ended, url };
}

serverTest(
  "nfs4 lock: SIGTERM repeated while closing, the LOCKU answered: the release goes on, no claim the lock is held (RFC 7530 §16.12)",
  async (server) => {
    const { ended } = await signalledWhileClosing(server, "SIGTERM");
    assert.doesNotMatch(ended.stderr, /lease expires|holds it/, ended.stderr);
    // COMMAND's status: the SIGTERM was COMMAND's to act on, and it went on.
    assert.equal(ended.code, 0, ended.stderr);
    assert.equal(await probeHolder(server, "4.0", "/vfs/f"), undefined, ended.stderr);
  },
);

serverTest(
  "nfs4 lock: Ctrl-C while closing, the LOCKU answered: exits at once, saying the lock is not held (RFC 7530 §16.12)",
  async (server) => {
    const { ended, url } = await signalledWhileClosing(server, "SIGINT");
    assert.equal(ended.code, 130, ended.stderr);
    assert.equal(
      ended.stderr,
      `nfs4: exiting before releasing all state: the lock on ${url} is not held; ` +
        `the server drops the rest when the lease expires\n`,
    );
    assert.equal(await probeHolder(server, "4.0", "/vfs/f"), undefined, ended.stderr);
  },
);

const binary = builtBinary;

for (const runner of ["deno", "binary"] as const) {
  serverTest(
    `nfs4 cp: two SIGTERMs 2 ms apart (timeout(1)) during a large copy: exit 143, the temporary removed (${runner})`,
    async (server) => {
      const dir = await tempDir();
      try {
        const source = join(dir, "big");
        writeFileSync(source, new Uint8Array(64 << 20).fill(0x61));
        await using proxy = await FaultProxy.start({ target: server, log: () => {} });
        // WRITE replies come 300 ms late: at the signals some are in flight,
        // and removing the temporary waits for them (within the 1.5 s
        // release window), so the second signal comes before the REMOVE.
        proxy.delayReply("WRITE", 300, { times: 1_000_000 });
        const copier = startNfs4(["cp", source, `${proxy.url}/vfs/big`], {}, {
          discardStdout: true,
          ...(runner === "binary" ? { binary: binary() } : {}),
        });
        const temporary = () =>
          [...Deno.readDirSync(server.exportDir)].filter((e) => e.name.startsWith(".big.nfs4-"));
        while (proxy.opCount("WRITE") === 0) {
          assert.equal(copier.text("stderr"), "", "the copy runs");
          await sleep(10);
        }
        await sleep(100);
        assert.equal(temporary().length, 1, "the temporary is there");
        copier.kill("SIGTERM");
        await sleep(2);
        copier.kill("SIGTERM");
        const ended = await copier.done;
        assert.equal(ended.code, 143, ended.stderr);
        assert.deepEqual(temporary().map((e) => e.name), [], ended.stderr);
      } finally {
        Deno.removeSync(dir, { recursive: true });
      }
    },
  );
}
