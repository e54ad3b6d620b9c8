/**
 * A client of the scripted server over TCP, for tests of what a client
 * sends (tests/state/_scripted.ts): the server, the client and the trace's
 * events (`event (detail)`), closed whatever the test does.
 */

import { Nfs4Client } from "../../lib/client/client.ts";
import { startScriptedNfsServer } from "../_nfs4_server.ts";
import { ScriptedServer, type ScriptedServerOptions } from "../state/_scripted.ts";

/**
 * Runs `fn` with a new scripted server (its clock the real one, `options`
 * as given; or `server`, a scripted server of a test's own, such as
 * tests/client/_hostile_listing.ts's) and a client of it speaking
 * `version`, whose client ID starts with `label`; both are closed after,
 * whatever `fn` did.
 */
export async function withScriptedClient<Server extends ScriptedServer = ScriptedServer>(
  options: ScriptedServerOptions | Server,
  version: "4.0" | "4.1",
  label: string,
  fn: (client: Nfs4Client, server: Server, events: string[]) => Promise<void>,
): Promise<void> {
  const server = options instanceof ScriptedServer
    ? options
    : new ScriptedServer({ now: () => performance.now(), ...options }) as Server;
  const nfs = await startScriptedNfsServer(server);
  const events: string[] = [];
  try {
    const client = await Nfs4Client.connect({
      host: nfs.host,
      port: nfs.port,
      version,
      clientId: `${label}-${crypto.randomUUID()}`,
      onTrace: (e) => events.push(`${e.event} (${e.detail ?? ""})`),
    });
    try {
      await fn(client, server, events);
    } finally {
      await client.close();
    }
  } finally {
    await nfs.close();
  }
}
