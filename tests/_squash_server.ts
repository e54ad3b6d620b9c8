/**
 * A test server with one more export that squashes owners: NFS-Ganesha's
 * `Squash = root_squash` or `all_squash` with an `Anonymous_Uid` and
 * `Anonymous_Gid`. Such an export answers a SETATTR of `owner` and
 * `owner_group` with NFS4_OK and both in its attrsset (RFC 7530 §16.32),
 * and keeps the anonymous ids instead (what `cp -p` must read back).
 *
 * scripts/test_server.ts writes its own two exports (`/vfs`, `/mem`) and
 * has no option for a third, so this starts ganesha.nfsd itself: that
 * script's configuration ({@linkcode ganeshaConfig}) with the export below
 * appended, on a free port, stopped (SIGTERM, then SIGKILL) when `fn` ends.
 *
 * ```ts
 * squashServerTest("cp -p warns", async (server) => {
 *   // server.url + "/asq" squashes every owner to 4242; server.squashDir is behind it
 * }, { squash: "all_squash" });
 * ```
 * @module
 */

import { spawn } from "node:child_process";
import * as fs from "node:fs/promises";
import * as path from "node:path";
import {
  freePort,
  ganeshaBinary,
  ganeshaConfig,
  ganeshaPluginsDir,
  probeRoot,
  rpcNull,
} from "../scripts/test_server.ts";
import { hasGanesha } from "./_server.ts";

/** The squashing export's options. */
export interface SquashOptions {
  /** Ganesha's `Squash`: whose credentials become the anonymous ids. */
  readonly squash: "root_squash" | "all_squash";
  /** `Anonymous_Uid` (default 4242). */
  readonly anonymousUid?: number;
  /** `Anonymous_Gid` (default 4242). */
  readonly anonymousGid?: number;
}

/** A running server with `/vfs` (no squashing) and `/asq` (squashing). */
export interface SquashServer {
  readonly port: number;
  /** `nfs://127.0.0.1:PORT`. */
  readonly url: string;
  /** Behind `/vfs`. */
  readonly exportDir: string;
  /** Behind `/asq` (mode 0777, so that squashed users may create in it). */
  readonly squashDir: string;
  readonly anonymousUid: number;
  readonly anonymousGid: number;
}

const START_TIMEOUT_MS = 30_000;

/** The EXPORT block of the squashing export, `Pseudo = /asq`. */
function squashExport(dir: string, options: Required<SquashOptions>): string {
  return `
EXPORT {
    Export_Id = 5;
    Path = "${dir}";
    Pseudo = /asq;
    Access_Type = RW;
    Squash = ${options.squash};
    Anonymous_Uid = ${options.anonymousUid};
    Anonymous_Gid = ${options.anonymousGid};
    Protocols = 4;
    Transports = TCP;
    SecType = sys;
    Attr_Expiration_Time = 0;
    FSAL {
        Name = VFS;
    }
}
`;
}

/** Starts the server, runs `fn`, always stops it; its directory is removed after a success. */
export async function withSquashServer<T>(
  options: SquashOptions,
  fn: (server: SquashServer) => Promise<T>,
): Promise<T> {
  const binary = ganeshaBinary();
  const plugins = ganeshaPluginsDir();
  if (!binary || !plugins) throw new Error("ganesha.nfsd is not installed");
  const chosen = { anonymousUid: 4242, anonymousGid: 4242, ...options };
  const dir = await fs.mkdtemp(path.join(Deno.env.get("TMPDIR") ?? "/tmp", "nfs4-squash-"));
  const exportDir = path.join(dir, "export");
  const squashDir = path.join(dir, "squashed");
  await fs.mkdir(exportDir);
  await fs.mkdir(squashDir);
  await fs.chmod(squashDir, 0o777);
  await fs.mkdir(path.join(dir, "recovery"));
  const port = await freePort();
  const conf = path.join(dir, "ganesha.conf");
  await fs.writeFile(
    conf,
    ganeshaConfig(dir, {
      port,
      exportDir,
      leaseSeconds: 5,
      graceSeconds: 5,
      serverId: `nfs4-squash-${Math.random().toString(16).slice(2, 10)}`,
      logLevel: "EVENT",
    }, plugins) + squashExport(squashDir, chosen),
  );
  const child = spawn(
    "setpriv",
    [
      "--pdeathsig",
      "KILL",
      binary,
      "-F",
      "-f",
      conf,
      "-L",
      path.join(dir, "ganesha.log"),
      "-p",
      path.join(dir, "ganesha.pid"),
    ],
    { cwd: dir, stdio: "ignore" },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  let failed = true;
  try {
    await waitReady(port, dir, exited);
    const result = await fn({
      port,
      url: `nfs://127.0.0.1:${port}`,
      exportDir,
      squashDir,
      anonymousUid: chosen.anonymousUid,
      anonymousGid: chosen.anonymousGid,
    });
    failed = false;
    return result;
  } finally {
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
    if (failed) console.error(`withSquashServer: server state kept in ${dir}`);
    else await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Waits until the server answers a LOOKUP of `asq` from the pseudo-fs root (NFSv4.0). */
async function waitReady(port: number, dir: string, exited: Promise<void>): Promise<void> {
  let gone = false;
  void exited.then(() => gone = true);
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (gone) {
      const log = await fs.readFile(path.join(dir, "ganesha.log"), "utf8").catch(() => "");
      throw new Error(
        `ganesha.nfsd exited during start-up:\n${log.split("\n").slice(-15).join("\n")}`,
      );
    }
    try {
      await rpcNull(port, 1000);
      if (await probeRoot(port, 1000, 0, "asq") === 0) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`ganesha.nfsd did not answer on port ${port} within ${START_TIMEOUT_MS} ms`);
}

/** A Deno.test on a fresh squashing server, ignored where Ganesha cannot run. */
export function squashServerTest(
  name: string,
  options: SquashOptions,
  fn: (server: SquashServer) => Promise<void>,
): void {
  Deno.test({
    name,
    ignore: !hasGanesha,
    sanitizeOps: false,
    sanitizeResources: false,
    fn: () => withSquashServer(options, fn),
  });
}
