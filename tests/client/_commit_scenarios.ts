/**
 * What tests/client/close_commit_test.ts (NfsFile.close()) and
 * tests/client/client_close_commit_test.ts (Nfs4Client.close()) share to
 * watch the COMMIT that close sends before its CLOSE (RFC 7530 §16.3.4,
 * RFC 8881 §18.3.3): a Ganesha client whose every op is traced, the file
 * ops of that trace, and the file ops the scripted server received. What
 * each test asserts stays in the test.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import { filteredSink, type TraceEvent } from "../../lib/state/trace.ts";
import type { TestServer } from "../_server.ts";
import type { ScriptedServer } from "../state/_scripted.ts";

export const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

/**
 * A client of the Ganesha test server speaking `version` as root, whose
 * client ID starts with `label`, and the ops of every COMPOUND it sends
 * (`events`, appended to as they come; the test empties it to start over).
 * The caller closes the client.
 */
export async function connectTraced(
  server: TestServer,
  version: "4.0" | "4.1",
  label: string,
): Promise<{ client: Nfs4Client; events: TraceEvent[] }> {
  const events: TraceEvent[] = [];
  const client = await Nfs4Client.connect({
    host: "127.0.0.1",
    port: server.port,
    version,
    uid: 0,
    gid: 0,
    clientId: `${label}-${version}-${crypto.randomUUID()}`,
    onTrace: filteredSink((e) => events.push(e), { categories: ["ops"], everyOp: true }),
  });
  return { client, events };
}

/** The file op of each COMPOUND traced, in the order sent: `OPEN`, `WRITE`, `COMMIT`, `CLOSE`, `READ`. */
export function fileOps(events: readonly TraceEvent[]): string[] {
  return events.flatMap((e) => {
    const op = /\b(OPEN|WRITE|COMMIT|CLOSE|READ) (ok|NFS4ERR_\w+)/.exec(e.event);
    return e.category === "ops" && op ? [op[1]!] : [];
  });
}

/** The server's COMPOUNDs' file ops (the op after PUTFH): `OPEN`, `WRITE`, `COMMIT`, `CLOSE`. */
export function serverOps(server: ScriptedServer): string[] {
  return server.log.flatMap((e) => {
    const op = e.ops.find((o) => ["OPEN", "WRITE", "COMMIT", "CLOSE"].includes(o));
    return op ? [op] : [];
  });
}

/** What `promise` rejected with; it resolving fails the test with `message`. */
export function rejectionOf(promise: Promise<unknown>, message = "resolved"): Promise<unknown> {
  return promise.then(() => assert.fail(message), (e: unknown) => e);
}
