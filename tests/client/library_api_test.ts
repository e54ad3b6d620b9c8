/**
 * mod.ts as a library user meets it (audit hF, findings 5, 6, 7 and 9):
 *
 * - `await using` a client and an open file (TC39 explicit resource
 *   management): the block's end closes them, sending CLOSE and, on 4.1,
 *   DESTROY_SESSION and DESTROY_CLIENTID (RFC 8881 §18.37, §18.50), even
 *   when the block throws. Before, neither had `Symbol.asyncDispose` and
 *   `await using` did not compile (TS2851).
 * - An aborted `ConnectOptions.signal` ends the client: a call made after
 *   it (outside `withOperationSignal` and `cleanupWork`) is refused at once
 *   with the signal's reason and sends nothing; `cleanupWork()` still goes
 *   out in the release window, and `close()` releases what the client holds.
 *   Before, stat() and open() went out after the abort (the OPEN made new
 *   state), and once the window was over every call failed `stopped 1.5 s
 *   after the interrupt`.
 * - `PcapWriter` is a value of mod.ts (ConnectOptions.pcap asks for one).
 * - Option types take `undefined` for an absent property, as a program
 *   built with `exactOptionalPropertyTypes` (this project's own setting)
 *   writes them: `timeoutMs: t ? n : undefined` compiles.
 * - A consumer built with `@tsconfig/strictest`'s flags
 *   (`noPropertyAccessFromIndexSignature` among them) can type-check a
 *   program importing mod.ts: `deno check` type-checks the imported local
 *   sources with the consumer's options.
 */

import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as nfs4 from "../../mod.ts";
import type {
  ConnectOptions,
  FileSetattr,
  OpenOptions,
  PathSetattr,
  StatOptions,
  TraceEvent,
} from "../../mod.ts";
import { serverTest, type TestServer } from "../_server.ts";
import { exclusiveOpenStatus } from "../cli/_spawn.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const DENO = `${ROOT}.tools/bin/deno`;

/** A client of `server` whose `ops` and `open`/`clid`/`sess` events land in `events`. */
function connect(
  server: TestServer,
  vers: "4.0" | "4.1",
  events: string[],
  signal?: AbortSignal,
): Promise<nfs4.Nfs4Client> {
  const tracer = new nfs4.Tracer();
  tracer.subscribe(
    nfs4.filteredSink((e: TraceEvent) => events.push(`${e.category} ${e.event}`), {
      categories: ["ops", "open", "clid", "sess", "state"],
    }),
  );
  return nfs4.Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version: vers,
    uid: 0,
    gid: 0,
    clientId: `nfs4-library-api-${crypto.randomUUID()}`,
    tracer,
    signal,
  });
}

/** The ops events (one per COMPOUND) from `from` on. */
function compounds(events: readonly string[], from = 0): string[] {
  return events.slice(from).filter((e) => e.startsWith("ops "));
}

for (const vers of ["4.0", "4.1"] as const) {
  serverTest(
    `NFSv${vers}: \`await using\` closes an open file (CLOSE) and the client (DESTROY_SESSION, DESTROY_CLIENTID on 4.1) at the block's end, even when it throws`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/hello.txt`, "hello\n");
      const events: string[] = [];
      let escaped: nfs4.Nfs4Client | undefined;
      let file: nfs4.NfsFile | undefined;
      await assert.rejects(
        async () => {
          await using client = await connect(server, vers, events);
          escaped = client;
          await using f = await client.open("/vfs/hello.txt", { access: "both" });
          file = f;
          assert.equal((await f.read(0n, 100)).data.length, 6);
          throw new Error("the block fails");
        },
        /the block fails/,
      );
      assert.ok(escaped && file);
      const closes = compounds(events).filter((e) => /\bCLOSE ok\b/.test(e));
      assert.equal(closes.length, 1, events.join("\n"));
      if (vers === "4.1") {
        assert.ok(events.some((e) => /DESTROY_SESSION ok/.test(e)), events.join("\n"));
        assert.ok(events.some((e) => /DESTROY_CLIENTID ok/.test(e)), events.join("\n"));
      }
      // The file went first (declared last), then the client.
      const closeAt = events.findIndex((e) => /\bCLOSE ok\b/.test(e));
      const destroyAt = events.findIndex((e) => /DESTROY_SESSION/.test(e));
      if (vers === "4.1") assert.ok(closeAt < destroyAt, events.join("\n"));
      assert.equal(escaped.leftOnServer, undefined);
      await assert.rejects(file.read(0n, 1), (e: Error) => e.name === "FileClosedError");
      await assert.rejects(escaped.stat("/vfs"), (e: Error) => e.name === "ClientClosedError");
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/hello.txt"), "NFS4_OK");
    },
  );

  serverTest(
    `NFSv${vers}: after ConnectOptions.signal aborts, a call is refused at once with the signal's reason and sends nothing; cleanupWork() still goes out; close() releases the client's state`,
    async (server) => {
      await Deno.writeTextFile(`${server.exportDir}/held.txt`, "held\n");
      await Deno.writeTextFile(`${server.exportDir}/temporary`, "tmp\n");
      const events: string[] = [];
      const stop = new AbortController();
      const client = await connect(server, vers, events, stop.signal);
      const held = await client.open("/vfs/held.txt", { access: "both" });
      await held.lock({ type: "write", offset: 0n, length: 1n });
      const why = new Error("the service is stopping");
      stop.abort(why);
      const sentBefore = compounds(events).length;

      // Refused at once, each with the reason itself, nothing sent.
      const started = performance.now();
      await assert.rejects(client.stat("/vfs/held.txt"), (e) => e === why);
      await assert.rejects(
        client.open("/vfs/new.txt", { access: "write", create: "unchecked" }),
        (e) => e === why,
      );
      await assert.rejects(client.mkdir("/vfs/newdir"), (e) => e === why);
      await assert.rejects(held.read(0n, 10), (e) => e === why);
      await assert.rejects(held.write(0n, new Uint8Array([1])), (e) => e === why);
      await assert.rejects(
        (async () => {
          for await (const _ of client.readdir("/vfs")) break;
        })(),
        (e) => e === why,
      );
      assert.throws(() => client.keepLease(true), (e) => e === why);
      assert.ok(performance.now() - started < 500, "refused at once");
      assert.deepEqual(compounds(events, 0).slice(sentBefore), [], "nothing was sent");
      await assert.rejects(Deno.stat(`${server.exportDir}/new.txt`), Deno.errors.NotFound);
      await assert.rejects(Deno.stat(`${server.exportDir}/newdir`), Deno.errors.NotFound);

      // Cleanup still goes out, within the release window.
      await nfs4.cleanupWork(() => client.remove("/vfs/temporary"));
      await assert.rejects(Deno.stat(`${server.exportDir}/temporary`), Deno.errors.NotFound);

      // close() releases the lock, the open and (4.1) the session and client ID.
      await client.close();
      assert.ok(compounds(events).some((e) => /\bCLOSE ok\b/.test(e)), events.join("\n"));
      if (vers === "4.1") {
        assert.ok(events.some((e) => /DESTROY_CLIENTID ok/.test(e)), events.join("\n"));
      }
      assert.equal(await exclusiveOpenStatus(server, vers, "/vfs/held.txt"), "NFS4_OK");
      // After close(), the refusal is close()'s, as for any closed client.
      await assert.rejects(client.stat("/vfs"), (e: Error) => e.name === "ClientClosedError");
    },
  );
}

serverTest(
  "mod.ts exports PcapWriter as a value: ConnectOptions.pcap records a client's traffic",
  async (server) => {
    const path = await Deno.makeTempFile({ suffix: ".pcap" });
    try {
      const pcap = nfs4.PcapWriter.open(path);
      try {
        const client = await nfs4.Nfs4Client.connect({
          host: "127.0.0.1",
          port: server.port,
          pcap,
        });
        await client.stat("/vfs");
        await client.close();
        assert.ok(pcap.counts.records >= 4, JSON.stringify(pcap.counts));
      } finally {
        pcap.close();
      }
      const bytes = readFileSync(path);
      // pcap magic (microseconds), little-endian as written on x86 and arm64.
      assert.equal(new DataView(bytes.buffer, bytes.byteOffset).getUint32(0, true), 0xa1b2c3d4);
    } finally {
      await Deno.remove(path);
    }
  },
);

Deno.test("option types take undefined for an absent property (exactOptionalPropertyTypes)", () => {
  // Compiles only when each optional property takes `undefined`: this
  // project builds with exactOptionalPropertyTypes, as such a consumer does.
  const env = (name: string): string | undefined => (name === "NFS_TIMEOUT" ? undefined : "x");
  const timeout = env("NFS_TIMEOUT");
  const connectOptions: ConnectOptions = {
    host: "127.0.0.1",
    port: 2049,
    timeoutMs: timeout ? Number(timeout) : undefined,
    uid: undefined,
    gid: undefined,
    version: undefined,
    signal: undefined,
    pcap: undefined,
    callback: undefined,
    onTrace: undefined,
  };
  const openOptions: OpenOptions = { access: "write", create: undefined, mode: undefined };
  const statOptions: StatOptions = { follow: undefined };
  const setattr: FileSetattr = { size: undefined, mode: 0o644 };
  const pathSetattr: PathSetattr = { mode: undefined, owner: undefined };
  assert.equal(connectOptions.timeoutMs, undefined);
  assert.equal(openOptions.mode, undefined);
  assert.equal(statOptions.follow, undefined);
  assert.equal(setattr.size, undefined);
  assert.equal(pathSetattr.owner, undefined);
  // The concrete class takes them too (its signatures, not only the interface's).
  const typed: (c: nfs4.Nfs4Client, f: nfs4.NfsFile) => Promise<unknown>[] = (c, f) => [
    c.stat("/vfs", statOptions),
    c.attributes("/vfs", { follow: undefined }),
    c.setattrPath("/vfs/a", pathSetattr, statOptions),
    c.open("/vfs/a", openOptions),
    f.setattr(setattr),
  ];
  assert.equal(typeof typed, "function");
});

Deno.test({
  name:
    "a consumer with @tsconfig/strictest's flags (noPropertyAccessFromIndexSignature, noImplicitReturns, noUnused*) type-checks a program importing mod.ts",
  sanitizeResources: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "nfs4-strict-consumer-" });
    try {
      await Deno.writeTextFile(
        `${dir}/deno.json`,
        JSON.stringify({
          compilerOptions: {
            strict: true,
            exactOptionalPropertyTypes: true,
            noUncheckedIndexedAccess: true,
            noImplicitReturns: true,
            noPropertyAccessFromIndexSignature: true,
            noFallthroughCasesInSwitch: true,
            noUnusedLocals: true,
            noUnusedParameters: true,
            noImplicitOverride: true,
          },
        }),
      );
      const mod = new URL("../../mod.ts", import.meta.url).href;
      await Deno.writeTextFile(
        `${dir}/prog.ts`,
        [
          `import { Nfs4Client, type ConnectOptions } from ${JSON.stringify(mod)};`,
          `const t = Deno.env.get("NFS_TIMEOUT");`,
          `const options: ConnectOptions = { host: "127.0.0.1", port: 2049, timeoutMs: t ? Number(t) : undefined };`,
          `await using client = await Nfs4Client.connect(options);`,
          `await using file = await client.open("/vfs/x", { access: "write", mode: undefined });`,
          `await file.setattr({ size: undefined, mode: 0o644 });`,
          `console.log(await client.stat("/vfs/x", { follow: undefined }));`,
          "",
        ].join("\n"),
      );
      const out = await new Deno.Command(DENO, {
        args: ["check", "--config", `${dir}/deno.json`, `${dir}/prog.ts`],
        cwd: dir,
        env: { NO_COLOR: "1" },
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
      assert.equal(out.code, 0, text);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "the @example blocks of mod.ts and the client API type-check as written (deno check --doc-only)",
  sanitizeResources: false,
  fn: async () => {
    // Each example connects to 127.0.0.1:2049 and is only type-checked.
    // Before, withOperationSignal's used an undeclared `client` and
    // filteredSink's undeclared `host` and `port` (TS2304, TS18004).
    const files = [
      "mod.ts",
      "lib/client/api.ts",
      "lib/client/client.ts",
      "lib/client/types.ts",
      "lib/client/operation_scope.ts",
      "lib/client/pcap.ts",
      "lib/rpc/socket_backend.ts",
      "lib/state/operation_scope.ts",
      "lib/state/trace.ts",
    ];
    const out = await new Deno.Command(DENO, {
      args: ["check", "--doc-only", ...files],
      cwd: ROOT,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text);
  },
});
