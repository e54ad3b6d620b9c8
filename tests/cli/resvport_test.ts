/**
 * `--resvport` / `--no-resvport`: as root, nfs4 connects from a reserved
 * source port (665-1023), as the Linux client and libnfs do, since Linux
 * nfsd exports with `secure` by default (exports(5)) and refuses AUTH_SYS
 * from other ports; `--no-resvport` connects from an ordinary one. The
 * trace's `connected` event names the port the connection came from.
 * Against Ganesha, which takes any port; run as root (the suite's CI is).
 */

import assert from "node:assert/strict";
import process from "node:process";
import { serverTest } from "../_server.ts";
import { RESERVED_PORTS, RESERVED_PORTS_SKIPPED } from "../../lib/rpc/transport.ts";
import { nfs4 } from "./_spawn.ts";

/** The local ports of the `connected` trace events in `stderr`. */
function localPorts(stderr: string): number[] {
  return [...stderr.matchAll(/connected +\(to \S+ from \S+:(\d+)\)/g)].map((m) => Number(m[1]));
}

const reserved = (port: number) =>
  port >= RESERVED_PORTS.low && port <= RESERVED_PORTS.high && !RESERVED_PORTS_SKIPPED.has(port);

const root = typeof process.getuid === "function" && process.getuid() === 0;

serverTest(
  "nfs4 as root connects from a reserved port; --no-resvport from an ordinary one (4.0 and 4.1)",
  async (server) => {
    for (const vers of ["4.0", "4.1"]) {
      const url = `${server.url}/vfs`;
      for (
        const [flags, wantReserved] of [[[], true], [["--resvport"], true], [
          ["--no-resvport"],
          false,
        ]] as const
      ) {
        const r = await nfs4(["--vers", vers, "--trace", ...flags, "ls", url]);
        assert.equal(r.code, 0, r.stderr);
        const ports = localPorts(r.stderr);
        assert.ok(ports.length >= 1, r.stderr);
        for (const port of ports) {
          assert.equal(reserved(port), wantReserved, `${flags.join(" ")}: port ${port}`);
        }
      }
    }
  },
  { ignore: !root },
);
