/**
 * Nfs4Client.close() against NFS-Ganesha: from the call on, nothing but its
 * release is sent (LOCKU, CLOSE, on 4.1 DESTROY_SESSION and
 * DESTROY_CLIENTID: RFC 7530 §16.12, §16.2, RFC 8881 §18.37, §18.50).
 * An open() or lock() begun meanwhile is refused with ClientClosedError
 * naming its path, and leaves nothing on the server; a second close()
 * returns the first one's promise; every call after it fails at once with
 * ClientClosedError (not after seconds of NFS4ERR_BADSESSION). An onTrace
 * that throws changes nothing the client does.
 */

import assert from "node:assert/strict";
import { Nfs4Client, type TraceEvent } from "../../mod.ts";
import { serverTest, type TestServer } from "../_server.ts";
import { exclusiveOpenStatus } from "../cli/_spawn.ts";

/**
 * `e` is the library's error of that name (exports_test.ts checks each
 * class mod.ts exports): told by name, so that the test runs, and fails,
 * against a library without it too.
 */
function isError(e: unknown, name: string): e is Error & { path?: string } {
  return e instanceof Error && e.name === name;
}

function connect(
  server: TestServer,
  vers: "4.0" | "4.1",
  onTrace?: (e: TraceEvent) => void,
): Promise<Nfs4Client> {
  return Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version: vers,
    uid: 0,
    gid: 0,
    clientId: `nfs4-close-test-${crypto.randomUUID()}`,
    ...(onTrace ? { onTrace } : {}),
  });
}

/** Who holds a write lock on byte 0 of `path`, as another client sees it. */
async function holderOf(server: TestServer, vers: "4.0" | "4.1", path: string) {
  const other = await connect(server, vers);
  try {
    return await other.testLock(path, { type: "write", offset: 0n, length: 1n });
  } finally {
    await other.close();
  }
}

const WHOLE = { type: "write", offset: 0n, length: 1n } as const;

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `Nfs4Client --vers ${vers}: an open() and lock() begun while close() releases are refused with ClientClosedError naming the path; nothing is left on the server, and no session or client ID is made after the release`,
    async (server) => {
      for (let i = 0; i < 5; i++) await Deno.writeTextFile(`${server.exportDir}/held${i}`, "x");
      const events: string[] = [];
      let racing: Promise<unknown> | undefined;
      const client: Nfs4Client = await connect(server, vers, (e) => {
        events.push(`${e.category} ${e.event}`);
        // Begun from inside the release: when its first CLOSE is told.
        if (e.category === "open" && e.event === "CLOSE" && racing === undefined) {
          racing = client.open("/vfs/racing", { access: "both", create: "unchecked" })
            .then((f) => f.lock(WHOLE));
          racing.catch(() => {});
        }
      });
      for (let i = 0; i < 5; i++) {
        const f = await client.open(`/vfs/held${i}`, { access: "both" });
        await f.lock(WHOLE);
      }
      events.length = 0;
      await client.close();
      assert.ok(racing, "the release closed a file");
      const refusal = await racing.then(() => undefined, (e) => e);
      assert.ok(isError(refusal, "ClientClosedError"), String(refusal));
      assert.equal(refusal.path, "/vfs/racing");
      assert.match(refusal.message, /^\/vfs\/racing: client closed/);
      assert.equal(client.leftOnServer, undefined);
      assert.deepEqual(client.describeState().opens, []);
      // The OPEN (an UNCHECKED4 create) was never sent.
      await assert.rejects(Deno.stat(`${server.exportDir}/racing`), Deno.errors.NotFound);
      for (let i = 0; i < 5; i++) {
        assert.equal(await holderOf(server, vers, `/vfs/held${i}`), undefined);
        assert.equal(await exclusiveOpenStatus(server, vers, `/vfs/held${i}`), "NFS4_OK");
      }
      const released = events.findIndex((e) => e.includes("DESTROY_SESSION"));
      if (vers === "4.1") {
        assert.ok(released >= 0, events.join("\n"));
        const after = events.slice(released);
        assert.ok(
          !after.some((e) => /CREATE_SESSION|EXCHANGE_ID|\+SESSION_RESET/.test(e)),
          events.join("\n"),
        );
      }
      assert.ok(
        !events.some((e) => /EXCHANGE_ID|SETCLIENTID|\+LEASE_EXPIRED/.test(e)),
        events.join("\n"),
      );
    },
  );

  serverTest(
    `Nfs4Client --vers ${vers}: an open() racing close(), begun just before or after it, is either sent before the release and released by it, or refused unsent; nothing is left either way`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/f`, "x");
      for (const first of ["open", "close"] as const) {
        for (const delayMs of [0, 1, 3, 10]) {
          const name = `late-${first}-${delayMs}`;
          const client = await connect(server, vers);
          const held = await client.open("/vfs/f", { access: "both" });
          await held.lock(WHOLE);
          let closing: Promise<void> | undefined;
          if (first === "close") closing = client.close();
          const opening = client.open(`/vfs/${name}`, { access: "both", create: "unchecked" })
            .then(async (f) => {
              await f.lock(WHOLE);
              return "opened";
            });
          opening.catch(() => {});
          await new Promise((resolve) => setTimeout(resolve, delayMs));
          closing ??= client.close();
          const outcome = await opening.catch((e) => e);
          await closing;
          const where = `${name}: ${outcome}`;
          if (first === "close") assert.ok(isError(outcome, "ClientClosedError"), where);
          if (outcome !== "opened") {
            assert.ok(isError(outcome, "ClientClosedError"), where);
            // Refused before its OPEN (an UNCHECKED4 create) was sent, or
            // sent and answered before close() began (then released below).
            if (first === "close") {
              await assert.rejects(Deno.stat(`${server.exportDir}/${name}`), Deno.errors.NotFound);
            }
          }
          assert.equal(client.leftOnServer, undefined, where);
          assert.equal(await holderOf(server, vers, "/vfs/f"), undefined, where);
          assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/f"), "NFS4_OK", where);
          const made = await Deno.stat(`${server.exportDir}/${name}`).then(() => true, () => false);
          if (made) {
            assert.equal(await holderOf(server, vers, `/vfs/${name}`), undefined, where);
            assert.equal(await exclusiveOpenStatus(server, vers, `/vfs/${name}`), "NFS4_OK", where);
          }
        }
      }
    },
  );

  serverTest(
    `Nfs4Client --vers ${vers}: a second close(), concurrent or later, returns the first one's promise and resolves only once everything was released`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/c2`, "x");
      const client = await connect(server, vers);
      const f = await client.open("/vfs/c2", { access: "both" });
      await f.lock(WHOLE);
      const first = client.close();
      const second = client.close();
      assert.equal(second, first);
      await second;
      assert.deepEqual(client.describeState().opens, [], "released when the second resolves");
      assert.equal(await holderOf(server, vers, "/vfs/c2"), undefined);
      assert.equal(client.close(), first);
    },
  );

  serverTest(
    `Nfs4Client --vers ${vers}: every call after close() fails at once with ClientClosedError naming its path; an open file's close() then resolves`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/hello.txt`, "hello\n");
      const client = await connect(server, vers);
      const file = await client.open("/vfs/hello.txt", { access: "both" });
      await client.close();
      const started = performance.now();
      const calls: [string, () => Promise<unknown>][] = [
        ["/vfs", () => client.stat("/vfs")],
        ["/vfs/hello.txt", () => client.openRead("/vfs/hello.txt")],
        ["/vfs", async () => {
          for await (const _ of client.readdir("/vfs")) break;
        }],
        ["/vfs/d", () => client.mkdir("/vfs/d")],
        ["/vfs/hello.txt", () => client.testLock("/vfs/hello.txt", WHOLE)],
        ["/vfs/hello.txt", () => client.setattrPath("/vfs/hello.txt", { mode: 0o600 })],
        ["/vfs/hello.txt", () => file.read(0n, 5)],
        ["/vfs/hello.txt", () => file.lock(WHOLE)],
      ];
      for (const [path, call] of calls) {
        const error = await call().then(() => undefined, (e) => e);
        assert.ok(isError(error, "ClientClosedError"), `${path}: ${error}`);
        assert.equal(error.path, path);
      }
      await assert.rejects(client.probeLease(), (e) => isError(e, "ClientClosedError"));
      const ms = performance.now() - started;
      assert.ok(ms < 1_000, `refused at once, not after NFS4ERR_BADSESSION retries: ${ms} ms`);
      await file.close();
    },
  );

  serverTest(
    `Nfs4Client --vers ${vers}: an onTrace that throws on LOCKU and CLOSE changes nothing: the file is closed and forgotten, close() releases the rest, the failure is printed once`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/tt`, "x");
      let armed = false;
      const client = await connect(server, vers, (e) => {
        if (armed && /CLOSE|LOCKU|DESTROY|RENEW|SEQUENCE/.test(e.event)) {
          throw new Error(`sink failed on ${e.event}`);
        }
      });
      const file = await client.open("/vfs/tt", { access: "both" });
      await file.lock(WHOLE);
      armed = true;
      const original = console.error;
      const printed: string[] = [];
      console.error = (...args: unknown[]) => printed.push(args.map(String).join(" "));
      try {
        await file.close();
        assert.deepEqual(client.describeState().opens, [], "the client knows it closed");
        await client.close();
      } finally {
        console.error = original;
      }
      assert.equal(printed.length, 1, printed.join("\n"));
      assert.equal(client.leftOnServer, undefined);
      assert.equal(await holderOf(server, vers, "/vfs/tt"), undefined);
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/tt"), "NFS4_OK");
    },
  );
}
