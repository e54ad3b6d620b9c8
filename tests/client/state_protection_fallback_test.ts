/**
 * A server answering the NFSv4.1 EXCHANGE_ID with state protection this
 * client cannot honour (SP4_MACH_CRED or SP4_SSV need RPCSEC_GSS, RFC 8881
 * §18.35.3, §2.10.8.3; this client speaks AUTH_SYS only) is refused with
 * StateProtectionError. With version `auto` the connect goes on to NFSv4.0,
 * which has no state protection (SETCLIENTID, RFC 7530 §16.33), as it does
 * for a session too small to use: traced `clid NFSv4.1 state protection
 * refused (trying NFSv4.0)`, the manager's step `refused`, no `error` event.
 * Asked for 4.1, the connect fails with StateProtectionError as before.
 */

import assert from "node:assert/strict";
import { Nfs4Client } from "../../lib/client/client.ts";
import type { CompoundReply, CompoundRequest } from "../../lib/nfs4/compound.ts";
import { StateProtectHow } from "../../lib/nfs4/constants.ts";
import type { ExchangeIdResult } from "../../lib/nfs4/ops/exchange_id.ts";
import { StateProtectionError } from "../../lib/state/manager.ts";
import { connectTraced, told } from "../_connect_traced.ts";
import { ScriptedServer } from "../state/_scripted.ts";

/** A scripted server whose EXCHANGE_ID answers name SP4_MACH_CRED state protection. */
class MachCredServer extends ScriptedServer {
  override handle(request: CompoundRequest, conn: number): CompoundReply {
    const reply = super.handle(request, conn);
    const [first, ...rest] = reply.outcomes;
    if (request.ops[0]?.name !== "EXCHANGE_ID" || first?.value === undefined) return reply;
    const result = first.value as ExchangeIdResult;
    const stateProtect = {
      how: StateProtectHow.SP4_MACH_CRED,
      ops: { mustEnforce: new Set<number>(), mustAllow: new Set<number>() },
    };
    return { ...reply, outcomes: [{ ...first, value: { ...result, stateProtect } }, ...rest] };
  }
}

function connect(version: "auto" | "4.1") {
  return connectTraced(
    new MachCredServer({ now: () => performance.now() }),
    version,
    "state-protection-fallback",
  );
}

Deno.test("connect (auto) to a server answering the 4.1 EXCHANGE_ID with SP4_MACH_CRED: NFSv4.0 is used, traced as a clid event, no `error` event (RFC 8881 §18.35.3; RFC 7530 §16.33)", async () => {
  const { events, outcome } = await connect("auto");
  const lines = told(events);
  assert.ok(outcome instanceof Nfs4Client, `${outcome}\n${lines.join("\n")}`);
  assert.equal(outcome.minorVersion, 0);
  assert.ok(
    lines.includes("clid NFSv4.1 state protection refused (trying NFSv4.0)"),
    lines.join("\n"),
  );
  assert.ok(
    lines.includes(
      "step LEASE_EXPIRED refused (NFSv4.1: EXCHANGE_ID answered with SP4_MACH_CRED state " +
        "protection (it needs RPCSEC_GSS))",
    ),
    lines.join("\n"),
  );
  assert.deepEqual(
    events.filter((e) => e.category === "error").map((e) => e.event),
    [],
    lines.join("\n"),
  );
});

Deno.test("connect --vers 4.1 to a server answering EXCHANGE_ID with SP4_MACH_CRED: StateProtectionError, traced `NFSv4.1 was asked for` (RFC 8881 §18.35.3)", async () => {
  const { events, outcome } = await connect("4.1");
  const lines = told(events);
  assert.ok(outcome instanceof StateProtectionError, `${outcome}\n${lines.join("\n")}`);
  assert.ok(
    lines.includes("clid NFSv4.1 state protection refused (NFSv4.1 was asked for)"),
    lines.join("\n"),
  );
});
