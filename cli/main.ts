/**
 * The `nfs4` executable: `deno run -A cli/main.ts <command> ...`, or the
 * compiled binary. It runs the program with the real streams and the real
 * client, and is the only place that exits the process (see exit_codes.ts).
 * @module
 */

import process from "node:process";
import { exactArgv } from "./argv.ts";
import { connectClient } from "./connect.ts";
import { type IdDatabase, localIdDatabase } from "./ls_owners.ts";
import { flushed } from "./output.ts";
import { run } from "./program.ts";

let ids: IdDatabase | undefined;
const code = await run(exactArgv(process.argv.slice(2)), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  now: () => new Date(),
  connect: connectClient,
  ids: () => ids ??= localIdDatabase(),
});
// Let buffered output reach its reader before exiting (a closed pipe resolves too).
await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
process.exit(code);
