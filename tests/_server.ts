/**
 * Fixtures for integration tests against NFS-Ganesha (scripts/test_server.ts).
 *
 * ```ts
 * import { serverTest } from "../_server.ts";
 * serverTest("readdir() lists the export", async (server) => {
 *   await Deno.writeTextFile(`${server.exportDir}/a.txt`, "a");
 *   // connect to server.port ...
 * });
 * ```
 *
 * @module
 */

import * as fs from "node:fs/promises";
import {
  ganeshaUnavailableReason,
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from "../scripts/test_server.ts";

export type { TestServer, TestServerOptions };

/** Why integration tests cannot run here (no ganesha.nfsd, not root), or undefined. */
export const ganeshaUnavailable: string | undefined = ganeshaUnavailableReason();

/** ganesha.nfsd is installed and we are root: use `ignore: !hasGanesha`. */
export const hasGanesha: boolean = ganeshaUnavailable === undefined;

/**
 * Starts a server, runs `fn` and always stops the server, even when `fn` throws.
 * When the state directory was a fresh temporary one, it is removed after a
 * success and kept (its path printed) after a failure, for the Ganesha log.
 */
export async function withServer<T>(
  fn: (server: TestServer) => Promise<T>,
  options: TestServerOptions = {},
): Promise<T> {
  const server = await startTestServer(options);
  let failed = true;
  try {
    const result = await fn(server);
    failed = false;
    return result;
  } finally {
    await server.stop();
    if (options.dir === undefined && options.exportDir === undefined) {
      if (failed) console.error(`withServer: server state kept in ${server.dir}`);
      else await fs.rm(server.dir, { recursive: true, force: true });
    }
  }
}

/**
 * A Deno.test that gets a fresh server. Ignored when Ganesha cannot run here.
 * The op and resource sanitizers are off: the server's child process and the
 * probe sockets outlive single awaits by design.
 */
export function serverTest(
  name: string,
  fn: (server: TestServer) => Promise<void>,
  options: TestServerOptions & { ignore?: boolean } = {},
): void {
  const { ignore = false, ...serverOptions } = options;
  Deno.test({
    name,
    ignore: ignore || !hasGanesha,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withServer(fn, serverOptions),
  });
}
