/**
 * Run by Bun (tests/client/library_sigio_test.ts spawns it with the port of
 * a Ganesha server): a program that uses mod.ts as a library, connects,
 * stats the export and closes, first as it comes, then after asking for
 * the FFI socket (`useFfiSockets()`, as the `nfs4` command does). Prints
 * one JSON line per phase: `{ "phase", "sigioListeners", "stat" }`.
 */

import process from "node:process";
import { Nfs4Client, useFfiSockets } from "../../mod.ts";

const port = Number(process.argv[2]);

async function phase(name: string): Promise<void> {
  const client = await Nfs4Client.connect({ host: "127.0.0.1", port });
  let stat: string;
  try {
    stat = (await client.stat("/vfs")).kind;
  } finally {
    await client.close();
  }
  console.log(JSON.stringify({
    phase: name,
    sigioListeners: process.listenerCount("SIGIO"),
    stat,
  }));
}

await phase("library");
useFfiSockets();
await phase("asked");
