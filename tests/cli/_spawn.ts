/**
 * Running `nfs4` as a black box for the CLI tests: spawn
 * `deno run -A cli/main.ts ...` from the repository root and capture its
 * stdout (bytes, or only their size and SHA-256 for large files), stderr
 * and exit code; plus what the tests read back from that output (the
 * `--trace=json` events), a TCP port with nothing listening on it, and
 * probes that ask the server, after a command has exited, whether it still
 * holds the command's client ID or opens.
 *
 * ```ts
 * const r = await nfs4(["ls", "-l", `${server.url}/vfs`]);
 * assert.equal(r.code, 0, r.stderr);
 * ```
 *
 * @module
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { createServer } from "node:net";
import { Nfs4Client } from "../../lib/client/client.ts";
import { ShareAccess, ShareDeny } from "../../lib/nfs4/constants.ts";
import { NfsError } from "../../lib/nfs4/errors.ts";
import { destroyClientid } from "../../lib/nfs4/ops/destroy_clientid.ts";
import { getfh } from "../../lib/nfs4/ops/getfh.ts";
import { lookup } from "../../lib/nfs4/ops/lookup.ts";
import { putrootfh } from "../../lib/nfs4/ops/putrootfh.ts";
import { statusName } from "../../lib/nfs4/status.ts";
import { openFile } from "../../lib/state/files.ts";
import type { TestServer } from "../_server.ts";

/** The repository root, where `cli/main.ts` is run from. */
export const ROOT: string = new URL("../../", import.meta.url).pathname;

/** What one run of `nfs4` printed and how it ended. */
export interface Result {
  code: number;
  /** stdout as UTF-8 text. */
  stdout: string;
  stderr: string;
  /** stdout as bytes. */
  bytes: Uint8Array;
  /** Wall time from spawn to exit, in milliseconds. */
  ms: number;
}

/** What one run of `nfs4` printed, with stdout only hashed (constant memory). */
export interface HashedResult {
  code: number;
  /** Bytes written to stdout. */
  size: number;
  /** SHA-256 of stdout, lower-case hex. */
  sha256: string;
  stderr: string;
  ms: number;
}

function command(args: readonly string[], env: Record<string, string>): Deno.Command {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "cli/main.ts", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1", ...env },
  });
}

/** Runs `nfs4 ...args` to completion and returns its output and exit code. */
export async function nfs4(args: string[], env: Record<string, string> = {}): Promise<Result> {
  const started = performance.now();
  const output = await command(args, env).output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    stdout: decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
    bytes: output.stdout,
    ms: performance.now() - started,
  };
}

/**
 * Runs `nfs4 ...args` and hashes its stdout as it arrives, so a 100 MiB
 * `cat` is checked without holding it in memory.
 */
export async function nfs4Hashed(
  args: string[],
  env: Record<string, string> = {},
): Promise<HashedResult> {
  const started = performance.now();
  const child = command(args, env).spawn();
  const hash = createHash("sha256");
  let size = 0;
  const drain = (async () => {
    for await (const chunk of child.stdout) {
      hash.update(chunk);
      size += chunk.length;
    }
  })();
  const [status, stderr] = await Promise.all([
    child.status,
    new Response(child.stderr).text(),
    drain,
  ]);
  return {
    code: status.code,
    size,
    sha256: hash.digest("hex"),
    stderr,
    ms: performance.now() - started,
  };
}

/** One `--trace=json` event as printed (extra fields such as `clientid` included). */
export interface TraceLine {
  t: number;
  cat: string;
  event: string;
  detail?: string;
  [field: string]: unknown;
}

/**
 * The `--trace=json` events in `stderr`, in order. Lines that are not JSON
 * objects (`nfs4: ...` error lines) are left out.
 */
export function traceEvents(stderr: string): TraceLine[] {
  const events: TraceLine[] = [];
  for (const line of stderr.split("\n")) {
    if (!line.startsWith("{")) continue;
    const event = JSON.parse(line) as TraceLine;
    assert.equal(typeof event.cat, "string", line);
    assert.equal(typeof event.event, "string", line);
    events.push(event);
  }
  return events;
}

/** The lines of `stderr` that are not trace events (the `nfs4: ...` messages). */
export function messageLines(stderr: string): string[] {
  return stderr.split("\n").filter((line) => line !== "" && !line.startsWith("{"));
}

/** A TCP port on 127.0.0.1 with nothing listening (bound, then released). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  assert.ok(address !== null && typeof address === "object");
  return address.port;
}

/** SHA-256 of `data`, lower-case hex. */
export function sha256(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

// ------------------------------------------- what the server still holds

/** The client ID a command established, from its `--trace=json` events. */
export function traceClientId(events: readonly TraceLine[]): bigint {
  const established = events.filter((e) =>
    e.cat === "clid" && (e.event === "EXCHANGE_ID ok" || e.event === "SETCLIENTID ok")
  );
  assert.equal(established.length, 1, "one client ID established");
  const id = established[0]!.clientid;
  assert.equal(typeof id, "string", "the clientid field is a hex string (0x and 16 digits)");
  return BigInt(id as string);
}

/** A library client of our own, with an owner string no command uses. */
export function probeClient(server: TestServer, version: "4.0" | "4.1"): Promise<Nfs4Client> {
  return Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version,
    uid: 0,
    gid: 0,
    clientId: `nfs4-cli-test-probe-${crypto.randomUUID()}`,
  });
}

/**
 * What a 4.1 server answers to DESTROY_CLIENTID of `clientId`, sent from a
 * separate probe client (in a COMPOUND of its own session). A client ID the
 * server has forgotten gives NFS4ERR_STALE_CLIENTID; one that still has a
 * session, NFS4ERR_CLIENTID_BUSY.
 */
export async function destroyClientIdStatus(server: TestServer, clientId: bigint): Promise<string> {
  const probe = await probeClient(server, "4.1");
  try {
    const reply = await probe.manager.send([destroyClientid(clientId)]);
    const failed = reply.outcomes.find((o) => o.status !== 0);
    return statusName(failed?.status ?? reply.status);
  } finally {
    await probe.close();
  }
}

/**
 * Opens `path` (e.g. `/vfs/f`, one level below an export) for reading with
 * share deny BOTH from a probe client and closes it again. The server grants
 * it (`NFS4_OK`) only when no other client holds an open of the file; an
 * open a command left behind makes it `NFS4ERR_SHARE_DENIED`.
 */
export async function exclusiveOpenStatus(
  server: TestServer,
  version: "4.0" | "4.1",
  path: string,
): Promise<string> {
  const components = path.split("/").filter((c) => c !== "");
  const name = components.pop()!;
  const probe = await probeClient(server, version);
  try {
    const results = await probe.manager.run(() => [
      putrootfh(),
      ...components.map((c) => lookup(c)),
      getfh(),
    ]);
    const dirFh = results.at(-1) as Uint8Array;
    try {
      const opened = await openFile(probe.manager, {
        dirFh,
        name,
        path,
        access: ShareAccess.OPEN4_SHARE_ACCESS_READ,
        deny: ShareDeny.OPEN4_SHARE_DENY_BOTH,
      });
      assert.ok(opened.state);
      return "NFS4_OK";
    } catch (e) {
      if (e instanceof NfsError) return e.statusName;
      throw e;
    }
  } finally {
    await probe.close(); // CLOSEs the probe's own open
  }
}

/** What {@linkcode intoHead} saw: nfs4's exit status and stderr, and how long it ran. */
export interface Piped {
  code: number;
  stderr: string;
  ms: number;
}

/** Runs `nfs4 ...args | head -c1` in bash and returns nfs4's exit status (PIPESTATUS). */
export async function intoHead(args: readonly string[]): Promise<Piped> {
  const started = performance.now();
  const out = await new Deno.Command("bash", {
    args: [
      "-c",
      '"$@" | head -c1 >/dev/null; exit "${PIPESTATUS[0]}"',
      "nfs4",
      Deno.execPath(),
      "run",
      "-A",
      "cli/main.ts",
      ...args,
    ],
    cwd: ROOT,
    stdin: "null",
    stdout: "null",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  return {
    code: out.code,
    stderr: new TextDecoder().decode(out.stderr),
    ms: performance.now() - started,
  };
}
