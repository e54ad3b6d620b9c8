/**
 * `nfs4 renew-watch` against a real Ganesha with a short lease, on NFSv4.0
 * and NFSv4.1: renewals at 2/3 of the lease (RFC 7530 §9.5, RFC 8881
 * §8.3), an expired lease after the process was paused (RFC 7530 §9.6.3),
 * and a server reboot recovered in grace (RFC 7530 §9.6.2, RFC 8881 §8.4.2).
 */

import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { serverTest, type TestServer } from "../_server.ts";

const ROOT = new URL("../..", import.meta.url).pathname;
const LEASE = 3;

interface WatchEvent {
  readonly event: string;
  readonly cat?: string;
  readonly detail?: string;
  readonly kept?: boolean;
  readonly [key: string]: unknown;
}

/**
 * Starts renew-watch --json; returns the child, a promise of its events and
 * status, and `until(name)`, which resolves when an event of that name has
 * been printed (its JSON lines read as they come).
 */
function watch(server: TestServer, vers: string, args: string[]) {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      join(ROOT, "cli/main.ts"),
      "--vers",
      vers,
      "renew-watch",
      "--json",
      ...args,
    ],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const events: WatchEvent[] = [];
  const waiters: { name: string; resolve: () => void }[] = [];
  const settle = () => {
    for (const w of [...waiters]) {
      if (events.some((e) => e.event === w.name)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const reading = (async () => {
    let pending = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const line of lines) if (line.trim() !== "") events.push(JSON.parse(line) as WatchEvent);
      settle();
    }
    if (pending.trim() !== "") events.push(JSON.parse(pending) as WatchEvent);
  })();
  const stderr = new Response(child.stderr).text();
  const done = Promise.all([child.status, reading, stderr]).then(([status, , text]) => {
    // Whatever still waits will not see its event: let it go (the test's
    // assertions on the events say what happened).
    for (const w of waiters.splice(0)) w.resolve();
    return { code: status.code, events, stderr: text };
  });
  /** Resolves once an event named `name` was printed (or the watcher ended). */
  const until = (name: string): Promise<void> =>
    new Promise((resolve) => {
      waiters.push({ name, resolve });
      settle();
      void done.then(() => resolve());
    });
  return { child, done, until, url: `${server.url}/vfs/watched` };
}

function names(events: readonly WatchEvent[]): string[] {
  return events.map((e) => e.event);
}

/** What a failed exit status is shown with: stderr, the events and the verdict's detail. */
function outcome(events: readonly WatchEvent[], stderr: string): string {
  const verdict = events.find((e) => e.event === "verdict");
  return `${stderr}\nevents: ${names(events).join(", ")}\nverdict: ${JSON.stringify(verdict)}`;
}

/** `a` then `b` then `c`, in that order, with anything between. */
function assertInOrder(events: readonly WatchEvent[], expected: readonly string[]): void {
  let at = 0;
  for (const e of events) if (e.event === expected[at]) at++;
  assert.equal(
    at,
    expected.length,
    `expected in order: ${expected.join(" > ")}\ngot: ${names(events).join(", ")}`,
  );
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

for (const vers of ["4.0", "4.1"]) {
  const renewOp = vers === "4.0" ? "RENEW ok" : "SEQUENCE ok";

  serverTest(
    `renew-watch --open keeps the lease for three lease periods on NFSv${vers} (RFC 7530 §9.5)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "watched"), "watched file\n");
      const w = watch(server, vers, [
        "--open",
        "--duration",
        String(LEASE * 3 + 1),
        `${server.url}/vfs/watched`,
      ]);
      const { code, events, stderr } = await w.done;
      assert.equal(code, 0, outcome(events, stderr));
      const renewals = events.filter((e) => e.event === renewOp);
      assert.ok(renewals.length >= 3, `${renewals.length} renewals: ${names(events).join(", ")}`);
      // Each renewal came with time still left on the lease: renewed at 2/3.
      for (const r of renewals) assert.ok((r.leaseLeftBeforeMs as number) > 0, JSON.stringify(r));
      const verdict = events.find((e) => e.event === "verdict");
      assert.ok(verdict, names(events).join(", "));
      assert.equal(verdict.kept, true);
      assert.match(String(verdict.detail), /READ with the open stateid ok/);
      // Nothing went wrong on the way.
      assert.ok(
        !events.some((e) =>
          e.cat === "state" && e.event === "+LEASE_EXPIRED" && e.detail !== "new client"
        ),
      );
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );

  serverTest(
    `renew-watch without --open: a server that stops answering is not reported as a lease kept, exit 1 (NFSv${vers})`,
    async (server) => {
      const w = watch(server, vers, ["--timeout", "1", "--duration", "3", `${server.url}/vfs`]);
      // Watching (its client made, however long the start took), then silence.
      await w.until("watch");
      Deno.kill(server.pid, "SIGSTOP");
      try {
        const { code, events, stderr } = await w.done;
        assert.equal(code, 1, outcome(events, stderr));
        const verdict = events.find((e) => e.event === "verdict");
        assert.equal(verdict?.kept, false, outcome(events, stderr));
        assert.match(String(verdict?.detail), /^lease not (confirmed|kept)/);
      } finally {
        Deno.kill(server.pid, "SIGCONT");
      }
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );

  serverTest(
    `renew-watch paused past the lease: the open is recovered, the lock reported lost (never re-taken), exit 1, on NFSv${vers} (RFC 7530 §9.6.3)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "watched"), "watched file\n");
      const w = watch(server, vers, [
        "--open",
        "--lock",
        "--duration",
        String(LEASE * 5),
        `${server.url}/vfs/watched`,
      ]);
      await w.until("watch");
      await sleep(500);
      Deno.kill(w.child.pid, "SIGSTOP");
      await sleep((LEASE * 2 + 2) * 1000);
      Deno.kill(w.child.pid, "SIGCONT");
      const { code, events, stderr } = await w.done;
      assert.equal(code, 1, outcome(events, stderr));
      const reopened = vers === "4.0" ? "OPEN(CLAIM_NULL) recovered" : "OPEN(CLAIM_FH) recovered";
      assertInOrder(events, [
        "lease ran out locally",
        "lock lost",
        "+LEASE_EXPIRED",
        reopened,
        "verdict",
      ]);
      assert.ok(!names(events).includes("LOCK recovered"), "the lost lock is not taken again");
      const clientIds = events.filter((e) => /^(SETCLIENTID|EXCHANGE_ID) ok$/.test(e.event)).map((
        e,
      ) => e.clientid);
      assert.equal(clientIds.length, 2);
      assert.notEqual(clientIds[0], clientIds[1], "a new client ID after the lease expired");
      assert.ok(
        !names(events).includes("OPEN(CLAIM_PREVIOUS) reclaimed"),
        "no reclaim outside grace",
      );
      assert.equal(events.find((e) => e.event === "verdict")?.kept, false);
      // Told by the late timer, not by failed renewals: none was sent.
      const ranOut = events.find((e) => e.event === "lease ran out locally")!;
      assert.match(
        String(ranOut.detail),
        /^no renewal answered for .*; no renewal failed meanwhile; the renewal timer fired [0-9.]+ m?s late: this process did not run$/,
      );
      assert.ok(Number(ranOut.timerLateMs) >= LEASE * 1000, JSON.stringify(ranOut));
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE },
  );

  serverTest(
    `renew-watch sees a server reboot and reclaims in grace on NFSv${vers} (RFC 7530 §9.6.2, RFC 8881 §8.4.2)`,
    async (server) => {
      writeFileSync(join(server.exportDir, "watched"), "watched file\n");
      const w = watch(server, vers, [
        "--open",
        "--lock",
        "--duration",
        String(LEASE * 4),
        `${server.url}/vfs/watched`,
      ]);
      // The open and lock taken (the watch begun, however long the start
      // took): then the reboot.
      await w.until("watch");
      await sleep(500);
      await server.restart();
      const { code, events, stderr } = await w.done;
      assert.equal(code, 0, outcome(events, stderr));
      const detected = vers === "4.0"
        ? ["RENEW -> NFS4ERR_STALE_CLIENTID"]
        : ["SEQUENCE -> NFS4ERR_BADSESSION", "+SESSION_RESET"];
      const reestablish = vers === "4.0"
        ? ["SETCLIENTID ok", "SETCLIENTID_CONFIRM ok"]
        : ["EXCHANGE_ID ok", "CREATE_SESSION ok"];
      assertInOrder(events, [
        "connection lost",
        ...detected,
        "+LEASE_EXPIRED",
        ...reestablish,
        "OPEN(CLAIM_PREVIOUS) reclaimed",
        "LOCK(reclaim) reclaimed",
        ...(vers === "4.1" ? ["RECLAIM_COMPLETE ok"] : []),
        "-RECLAIM_REBOOT",
        "verdict",
      ]);
      if (vers === "4.1") {
        const stale = events.find((e) =>
          e.event === "+LEASE_EXPIRED" &&
          /CREATE_SESSION -> NFS4ERR_STALE_CLIENTID/.test(String(e.detail))
        );
        assert.ok(stale, "BADSESSION then STALE_CLIENTID from CREATE_SESSION");
      }
      assert.equal(events.find((e) => e.event === "verdict")?.kept, true);
    },
    { leaseSeconds: LEASE, graceSeconds: LEASE + 2 },
  );
}
