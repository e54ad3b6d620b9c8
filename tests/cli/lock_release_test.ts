/**
 * `nfs4 lock` lets go of its lock: when COMMAND ends (its status passed
 * through), and when nfs4 gets SIGINT or SIGTERM (passed on to a running
 * COMMAND first). Each time a lock asked for right after, without waiting,
 * is granted: the lock was released with LOCKU, not left to the lease.
 * Against Ganesha on NFSv4.0 and NFSv4.1.
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest } from "../_server.ts";
import { nfs4, startHolder, startNfs4, stopHolder } from "./_lock.ts";

/** Takes the whole file without waiting and runs `true`: 0 when it was free. */
async function takeAtOnce(vers: string, url: string): Promise<void> {
  const r = await nfs4(["--vers", vers, "lock", "-n", url, "--", "true"]);
  assert.equal(r.code, 0, `the lock is free again: ${r.stderr}`);
}

for (const vers of ["4.0", "4.1"] as const) {
  const v = ["--vers", vers];

  serverTest(
    `nfs4 lock: COMMAND's exit status passes through and the lock is released after it (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      for (const [script, status] of [["exit 0", 0], ["exit 7", 7], ["exit 1", 1], ["exit 2", 2]]) {
        const r = await nfs4([...v, "lock", url, "--", "sh", "-c", String(script)]);
        assert.equal(r.code, status, r.stderr);
        assert.equal(r.stderr, "");
        await takeAtOnce(vers, url);
      }
      // Ended by a signal: 128 + its number, as a shell reports it.
      const killed = await nfs4([...v, "lock", url, "--", "sh", "-c", "kill -KILL $$"]);
      assert.equal(killed.code, 137, killed.stderr);
      await takeAtOnce(vers, url);
      // Options of COMMAND after --, its stdout is nfs4's.
      const args = await nfs4([...v, "lock", "-s", url, "--", "printf", "%s-%s\\n", "-x", "-n"]);
      assert.equal(args.code, 0, args.stderr);
      assert.equal(args.stdout, "-x--n\n");
      // A COMMAND that cannot run: 127, and the lock is released.
      const missing = await nfs4([...v, "lock", url, "--", "/nonexistent/cmd"]);
      assert.equal(missing.code, 127);
      assert.equal(
        missing.stderr,
        "nfs4: cannot run /nonexistent/cmd: No such file or directory\n",
      );
      await takeAtOnce(vers, url);
    },
  );

  serverTest(
    `nfs4 lock: SIGINT and SIGTERM release a lock held without COMMAND (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      for (const signal of ["SIGINT", "SIGTERM"] as const) {
        const holder = await startHolder([...v, "lock", url], url, "exclusive", "0-");
        const before = await nfs4([...v, "lock", "-n", url, "--", "true"]);
        assert.equal(before.code, 1, "held");
        await stopHolder(holder, signal);
        await takeAtOnce(vers, url);
      }
    },
  );

  serverTest(
    `nfs4 lock: SIGTERM while COMMAND runs is passed on, then the lock is released (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      // A COMMAND that handles SIGTERM: says so and exits 5.
      const script = 'Deno.addSignalListener("SIGTERM", () => { console.log("got TERM"); ' +
        'Deno.exit(5); }); console.log("ready"); setInterval(() => {}, 1000);';
      const holder = startNfs4([
        ...v,
        "--trace",
        "--verbose",
        "lock",
        url,
        "--",
        Deno.execPath(),
        "eval",
        script,
      ]);
      await holder.waitFor("stdout", /^ready$/m);
      holder.kill("SIGTERM");
      const ended = await holder.done;
      assert.equal(ended.code, 5, ended.stderr);
      assert.equal(ended.stdout, "ready\ngot TERM\n");
      assert.match(ended.stderr, /^nfs4: SIGTERM passed on to COMMAND \(pid \d+\)$/m);
      assert.match(ended.stderr, /^nfs4: COMMAND exited: \S+ status 5\n(.*\n)*.* lock +LOCKU /m);
      await takeAtOnce(vers, url);

      // A COMMAND that dies of the signal: 128 + 15.
      const plain = startNfs4([...v, "lock", url, "--", "sh", "-c", "echo ready; exec sleep 30"]);
      await plain.waitFor("stdout", /^ready$/m);
      plain.kill("SIGTERM");
      const killed = await plain.done;
      assert.equal(killed.code, 143, killed.stderr);
      assert.ok(killed.ms < 10_000);
      await takeAtOnce(vers, url);
    },
  );

  serverTest(
    `nfs4 lock: SIGINT while waiting stops the wait and leaves nothing behind (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = await startHolder([...v, "lock", "-s", url], url, "shared", "0-");
      const waiter = startNfs4([...v, "--trace", "lock", url, "--", "echo", "ran"]);
      await waiter.waitFor("stderr", /LOCK denied, waiting/);
      waiter.kill("SIGINT");
      const ended = await waiter.done;
      assert.equal(ended.code, 130, ended.stderr);
      assert.equal(ended.stdout, "", "COMMAND never ran");
      assert.match(ended.stderr, / open +CLOSE /);
      // The holder's shared lock is still there and is the only one.
      const shared = await nfs4([...v, "lock", "-n", "-s", url, "--", "true"]);
      assert.equal(shared.code, 0, shared.stderr);
      await stopHolder(holder);
      await takeAtOnce(vers, url);
    },
  );
}

serverTest(
  "nfs4 lock: SIGHUP (its terminal closed) releases the held lock and exits 0 as SIGTERM does, where the process died holding it until the lease ended",
  async (server) => {
    writeFileSync(join(server.exportDir, "f"), "data\n");
    const url = `${server.url}/vfs/f`;
    for (const vers of ["4.0", "4.1"]) {
      const holder = await startHolder(["--vers", vers, "lock", url], url, "exclusive", "0-");
      holder.kill("SIGHUP");
      const ended = await holder.done;
      assert.equal(ended.code, 0, ended.stderr);
      await takeAtOnce(vers, url);
    }
  },
);

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `nfs4 lock: SIGINT ending a hold whose LOCKU the server does not answer exits 1, saying the ` +
      `server keeps the lock until the lease ends (README "Exit codes") (NFSv${vers})`,
    async (server) => {
      writeFileSync(join(server.exportDir, "f"), "data\n");
      const url = `${server.url}/vfs/f`;
      const holder = await startHolder(["--vers", vers, "lock", url], url, "exclusive", "0-");
      // The server stops answering (its process stopped), then the hold is ended.
      Deno.kill(server.pid, "SIGSTOP");
      try {
        holder.kill("SIGINT");
        const ended = await holder.done;
        assert.equal(ended.code, 1, ended.stderr);
        assert.match(
          ended.stderr,
          /^nfs4: releasing the lock failed \(the server frees it when the lease expires\): /m,
        );
        assert.doesNotMatch(ended.stderr, /warning: releasing/);
      } finally {
        Deno.kill(server.pid, "SIGCONT");
      }
    },
    { leaseSeconds: 3 },
  );
}
