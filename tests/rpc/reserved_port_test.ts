/**
 * Connections from a reserved source port (RpcTransportOptions.reservedPort),
 * as the Linux client and libnfs make them when they may: Linux nfsd exports
 * with `secure` by default (exports(5)) and refuses AUTH_SYS requests from a
 * port of 1024 or above. A port that is taken (EADDRINUSE, EADDRNOTAVAIL) is
 * passed over for the next one down; a system that refuses the bind
 * (EACCES, EPERM: not privileged) gets connections from an ordinary port
 * from then on; Deno.connect and Bun.connect, which take no local port,
 * connect from an ordinary port.
 */

import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import process from "node:process";
import {
  nextReservedPort,
  RESERVED_PORTS,
  RESERVED_PORTS_SKIPPED,
  RpcTransport,
} from "../../lib/rpc/transport.ts";
import type { RpcSocket, SocketEndpoint, SocketEvents } from "../../lib/rpc/socket_backend.ts";

/** A socket factory that fails the connects whose local port is in `refuse` with its code. */
function scriptedSockets(refuse: (endpoint: SocketEndpoint) => string | undefined) {
  const endpoints: SocketEndpoint[] = [];
  const factory = (endpoint: SocketEndpoint, events: SocketEvents): RpcSocket => {
    endpoints.push(endpoint);
    const code = refuse(endpoint);
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      events.closed();
    };
    setTimeout(() => {
      if (code) {
        events.error(Object.assign(new Error(`bind: ${code}`), { code }));
        close();
      } else {
        events.connected();
      }
    }, 0);
    return {
      write(_chunk, done) {
        done();
      },
      setNoDelay() {},
      destroy() {
        setTimeout(close, 0);
      },
      localAddress: "127.0.0.1",
      localPort: endpoint.localPort ?? 40000,
      remoteAddress: "127.0.0.1",
      remotePort: 2049,
    };
  };
  return { factory, endpoints };
}

const inRange = (port: number | undefined) =>
  port !== undefined && port >= RESERVED_PORTS.low && port <= RESERVED_PORTS.high &&
  !RESERVED_PORTS_SKIPPED.has(port);

Deno.test("RpcTransport: reservedPort connects from a port in 665-1023; reservedPort false from any", async () => {
  for (const reservedPort of [true, false]) {
    const sockets = scriptedSockets(() => undefined);
    const transport = new RpcTransport({
      host: "127.0.0.1",
      port: 2049,
      socket: sockets.factory,
      reservedPort,
    });
    try {
      await transport.connect();
      assert.equal(sockets.endpoints.length, 1);
      const local = sockets.endpoints[0]!.localPort;
      assert.equal(inRange(local), reservedPort, `local port ${local}`);
    } finally {
      await transport.close();
    }
  }
});

Deno.test("RpcTransport: a reserved port in use is passed over for the next one down, wrapping at 665, past the skipped ones", async () => {
  let refusals = 0;
  const sockets = scriptedSockets((e) =>
    e.localPort !== undefined && refusals++ < 3
      ? ["EADDRINUSE", "EADDRNOTAVAIL", "EINVAL"][refusals - 1]
      : undefined
  );
  const transport = new RpcTransport({
    host: "127.0.0.1",
    port: 2049,
    socket: sockets.factory,
    reservedPort: true,
  });
  try {
    await transport.connect();
    const ports = sockets.endpoints.map((e) => e.localPort!);
    assert.equal(ports.length, 4);
    for (let i = 1; i < ports.length; i++) assert.equal(ports[i], nextReservedPort(ports[i - 1]!));
    assert.ok(ports.every(inRange), String(ports));
  } finally {
    await transport.close();
  }
});

Deno.test("nextReservedPort(): downward, wrapping from 665 to 1023, past the ports Wireshark gives other protocols", () => {
  assert.equal(nextReservedPort(700), 699);
  assert.equal(nextReservedPort(RESERVED_PORTS.low), RESERVED_PORTS.high);
  assert.equal(nextReservedPort(996), 994);
  assert.equal(nextReservedPort(994), 992);
  assert.equal(nextReservedPort(855), 852);
  const seen = new Set<number>();
  for (let p: number = RESERVED_PORTS.high, i = 0; i < 400; i++, p = nextReservedPort(p)) {
    seen.add(p);
  }
  assert.equal(
    seen.size,
    RESERVED_PORTS.high - RESERVED_PORTS.low + 1 - RESERVED_PORTS_SKIPPED.size,
  );
  assert.ok([...seen].every(inRange));
});

Deno.test("RpcTransport: a bind the system refuses (EACCES, EPERM) connects from an ordinary port", async () => {
  for (const code of ["EACCES", "EPERM"]) {
    const sockets = scriptedSockets((e) => (e.localPort !== undefined ? code : undefined));
    const transport = new RpcTransport({
      host: "127.0.0.1",
      port: 2049,
      socket: sockets.factory,
      reservedPort: true,
    });
    try {
      await transport.connect();
      assert.deepEqual(sockets.endpoints.map((e) => e.localPort === undefined), [false, true]);
    } finally {
      await transport.close();
    }
  }
});

Deno.test("RpcTransport: a connect that fails for another reason is not retried from another port", async () => {
  const sockets = scriptedSockets(() => "ECONNREFUSED");
  const transport = new RpcTransport({
    host: "127.0.0.1",
    port: 2049,
    socket: sockets.factory,
    reservedPort: true,
  });
  try {
    await assert.rejects(transport.connect(), /connection refused/);
    assert.equal(sockets.endpoints.length, 1);
  } finally {
    await transport.close();
  }
});

const root = typeof process.getuid === "function" && process.getuid() === 0;

Deno.test({
  name:
    "RpcTransport over node:net as root: the server sees a reserved source port; Deno.connect an ordinary one",
  ignore: !root,
  fn: async () => {
    const seen: number[] = [];
    const server = createServer((s: Socket) => {
      seen.push(s.remotePort!);
      s.on("error", () => {});
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as { port: number }).port;
    try {
      for (const socket of ["node", "deno"] as const) {
        const transport = new RpcTransport({ host: "127.0.0.1", port, socket });
        try {
          await transport.connect();
          assert.equal(
            inRange(transport.localPort),
            socket === "node",
            `${socket}: ${transport.localPort}`,
          );
        } finally {
          await transport.close();
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(seen.length, 2);
      assert.ok(inRange(seen[0]), `server saw ${seen[0]}`);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  },
});

Deno.test("RpcTransport: closed while a reserved port is being found, it opens no socket after close()", async () => {
  const made: { transport?: RpcTransport } = {};
  const sockets = scriptedSockets((e) => {
    if (e.localPort === undefined) return undefined;
    void made.transport!.close(); // closed as the first try fails
    return "EADDRINUSE";
  });
  const transport = made.transport = new RpcTransport({
    host: "127.0.0.1",
    port: 2049,
    socket: sockets.factory,
    reservedPort: true,
  });
  await assert.rejects(transport.connect());
  await new Promise((resolve) => setTimeout(resolve, 10));
  assert.equal(sockets.endpoints.length, 1);
});
