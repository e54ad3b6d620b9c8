/**
 * A library does not take a process-wide signal unless the program asks
 * (audit hF, finding 10): in Bun on Linux the FFI socket backend
 * (lib/rpc/socket_ffi.ts) installs a SIGIO handler for the whole process,
 * never removed. It used to be the default wherever it could run, so any
 * program importing mod.ts under Bun got the handler on its first connect.
 * Now it is the default only after `useFfiSockets()` (the `nfs4` command
 * calls it in cli/connect.ts) or with `NFS4_SOCKET=ffi`; a library user
 * gets `Bun.connect`. Runs tests/client/_library_sigio_check.ts in Bun
 * against Ganesha; skipped when Bun is not installed (`deno task build`
 * installs it into .tools/bun).
 */

import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { serverTest } from "../_server.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
const bun = `${root}.tools/bun/node_modules/.bin/bun`;

serverTest(
  "mod.ts under Bun: no SIGIO handler until the program calls useFfiSockets(); then the FFI socket takes it",
  async (server) => {
    const env: Record<string, string> = {};
    for (const name of ["PATH", "HOME", "TMPDIR"]) {
      const value = Deno.env.get(name);
      if (value !== undefined) env[name] = value;
    }
    const out = await new Deno.Command(bun, {
      args: ["tests/client/_library_sigio_check.ts", String(server.port)],
      cwd: root,
      clearEnv: true, // no NFS4_SOCKET from the caller's environment
      env,
      signal: AbortSignal.timeout(60_000),
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 0, `bun exited ${out.code}:\n${stdout}\n${stderr}`);
    const phases = stdout.trim().split("\n").map((line) =>
      JSON.parse(line) as { phase: string; sigioListeners: number; stat: string }
    );
    assert.deepEqual(phases, [
      { phase: "library", sigioListeners: 0, stat: "directory" },
      { phase: "asked", sigioListeners: 1, stat: "directory" },
    ]);
  },
  { ignore: !existsSync(bun) || Deno.build.os !== "linux" },
);
