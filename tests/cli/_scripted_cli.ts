/**
 * `nfs4` run in-process against the scripted NFSv4 server over TCP
 * (tests/state/_scripted.ts, tests/_nfs4_server.ts), with the real client
 * and this host's users and groups replaced by `ids`: for commands whose
 * outcome depends on server behaviour Ganesha will not show (owner strings
 * in name@domain only, GETATTR replies that do not decode).
 */

import { run } from "../../cli/program.ts";
import { connectClient } from "../../cli/connect.ts";
import { type IdDatabase, NO_IDS } from "../../cli/ls_owners.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import type { ScriptedServer } from "../state/_scripted.ts";
import { FakeStream } from "./_fake.ts";

/** What a run printed and its exit code. */
export interface ScriptedRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Starts `server` on a TCP port and runs `nfs4 argv` for each of `runs`
 * against it (`@` at the start of an argument stands for the server's
 * `nfs://host:port`), then stops it.
 */
export async function runScripted(
  server: ScriptedServer,
  runs: readonly (readonly string[])[],
  ids: IdDatabase = NO_IDS,
): Promise<ScriptedRun[]> {
  const nfs = await startScriptedNfsServer(server);
  const results: ScriptedRun[] = [];
  try {
    for (const argv of runs) {
      const stdout = new FakeStream();
      const stderr = new FakeStream();
      const code = await run(
        argv.map((a) => a.startsWith("@") ? `${nfs.url}${a.slice(1)}` : a),
        {
          stdout,
          stderr,
          env: {},
          now: () => new Date(),
          timeZone: "UTC",
          connect: connectClient,
          ids: () => ids,
        },
      );
      // Let the fake streams deliver their last writes.
      await new Promise((resolve) => setTimeout(resolve, 5));
      results.push({
        code,
        stdout: stdout.text().replaceAll(nfs.url, "@"),
        stderr: stderr.text().replaceAll(nfs.url, "@"),
      });
    }
  } finally {
    await nfs.close();
  }
  return results;
}
