/**
 * Connects an Nfs4Client over TCP to a scripted server (tests/_nfs4_server.ts)
 * and keeps its trace: for tests of what a connect says while it negotiates
 * (a session too small, state protection it cannot honour).
 */

import { Nfs4Client } from "../lib/client/client.ts";
import type { TraceEvent } from "../lib/state/trace.ts";
import { startScriptedNfsServer } from "./_nfs4_server.ts";
import type { ScriptedServer } from "./state/_scripted.ts";

/**
 * Connects to `server` asking for `version`; the trace, and the client
 * (closed again) or what the connect rejected with.
 */
export async function connectTraced(
  server: ScriptedServer,
  version: "auto" | "4.1",
  label: string,
): Promise<{ events: TraceEvent[]; outcome: Nfs4Client | unknown }> {
  const nfs = await startScriptedNfsServer(server);
  const events: TraceEvent[] = [];
  try {
    const outcome = await Nfs4Client.connect({
      host: nfs.host,
      port: nfs.port,
      version,
      clientId: `${label}-${crypto.randomUUID()}`,
      onTrace: (e) => events.push(e),
    }).then((client) => client, (e: unknown) => e);
    if (outcome instanceof Nfs4Client) await outcome.close();
    return { events, outcome };
  } finally {
    await nfs.close();
  }
}

/** Each event as a line: `category event (detail)`. */
export function told(events: readonly TraceEvent[]): string[] {
  return events.map((e) =>
    `${e.category} ${e.event}${e.detail === undefined ? "" : ` (${e.detail})`}`
  );
}
