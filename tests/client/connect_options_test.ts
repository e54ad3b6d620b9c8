/**
 * Nfs4Client.connect() checks its options before it connects
 * (lib/client/arguments.ts `checkConnectOptions`): `timeoutMs` is 1 ms to a
 * day, as the CLI's `--timeout` (0 would mean no timeout at all: a call to
 * a stopped server hung), `host` is not empty, `port` is 1 to 65535; each
 * refusal names the option, and no connection is made.
 */

import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { ConnectOptions } from "../../lib/client/api.ts";

/** A listener that counts the connections made to it (none should be). */
async function withListener(fn: (port: number, accepted: () => number) => Promise<void>) {
  const sockets: Socket[] = [];
  const server = createServer((socket) => sockets.push(socket));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    await fn(port, () => sockets.length);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  }
}

/** `promise`, or a failure once it has not settled within 2 s (a connect that hangs). */
function settled<T>(promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error("connect() still pending after 2 s")), 2_000);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

Deno.test("Nfs4Client.connect() refuses a timeoutMs of 0, below 1 ms, above a day or not finite, naming timeoutMs, without connecting", async () => {
  await withListener(async (port, accepted) => {
    for (const timeoutMs of [0, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 86_400_001]) {
      await assert.rejects(
        settled(Nfs4Client.connect({ host: "127.0.0.1", port, timeoutMs })),
        (e) => {
          assert.ok(e instanceof RangeError, String(e));
          assert.equal(
            e.message,
            `timeoutMs must be a number from 1 to 86400000 (0.001 s to a day), got ${timeoutMs}`,
          );
          return true;
        },
      );
    }
    await assert.rejects(
      Nfs4Client.connect({ host: "127.0.0.1", port, timeoutMs: "5" as unknown as number }),
      (e) => e instanceof TypeError && e.message === 'timeoutMs must be a number, got "5" (string)',
    );
    assert.equal(accepted(), 0, "no connection was made");
  });
});

Deno.test("Nfs4Client.connect() refuses an empty host, a port outside 1..65535 and a version it does not know, naming the option", async () => {
  const bad: [Partial<ConnectOptions>, ErrorConstructor, string][] = [
    [{ host: "" }, RangeError, 'host must be a host name or address, got ""'],
    [{ port: -5 }, RangeError, "port must be an integer from 1 to 65535, got -5"],
    [{ port: 0 }, RangeError, "port must be an integer from 1 to 65535, got 0"],
    [{ port: 70000 }, RangeError, "port must be an integer from 1 to 65535, got 70000"],
    [{ port: 2049.5 }, RangeError, "port must be an integer from 1 to 65535, got 2049.5"],
    [
      { recoveryTimeoutMs: 0 },
      RangeError,
      `recoveryTimeoutMs must be a number from 1 to ${Number.MAX_SAFE_INTEGER}, got 0`,
    ],
    [{ uid: -1 }, RangeError, "uid must be an integer from 0 to 4294967295, got -1"],
    [{ gids: [1, -2] }, RangeError, "gids[1] must be an integer from 0 to 4294967295, got -2"],
    [
      { version: "4" as unknown as "4.0" },
      RangeError,
      'version must be one of "auto", "4.0", "4.1", "4.2", got "4"',
    ],
  ];
  await withListener(async (port, accepted) => {
    for (const [options, kind, message] of bad) {
      await assert.rejects(
        settled(Nfs4Client.connect({ host: "127.0.0.1", port, ...options } as ConnectOptions)),
        (e) => {
          assert.ok(e instanceof kind, `${JSON.stringify(options)}: ${String(e)}`);
          assert.equal((e as Error).message, message);
          return true;
        },
      );
    }
    assert.equal(accepted(), 0, "no connection was made");
  });
});
