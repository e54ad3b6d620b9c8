/**
 * EXCHANGE_ID's answer is checked before it is used (procs.ts
 * checkExchangeIdReply, RFC 8881 §18.35.3). This client asks for SP4_NONE
 * state protection, which the server "MUST NOT enforce" then: an answer of
 * SP4_MACH_CRED or SP4_SSV (which need RPCSEC_GSS, which this client does
 * not speak) is refused with StateProtectionError, and no session is made
 * for that client ID. eir_flags out of spec (no pNFS role or one §13.1
 * does not accept, the request-only UPD_CONFIRMED_REC_A, bits the RFC does
 * not define) are tolerated and traced: none changes what this client does.
 */

import assert from "node:assert/strict";
import type { CompoundReply, CompoundRequest } from "../../lib/nfs4/compound.ts";
import type { CompoundCallOptions } from "../../lib/nfs4/channel.ts";
import { ExchangeIdFlags as F, StateProtectHow } from "../../lib/nfs4/constants.ts";
import type { ExchangeIdResult, StateProtectResult } from "../../lib/nfs4/ops/exchange_id.ts";
import { StateProtectionError } from "../../lib/state/manager.ts";
import { harness } from "./_harness.ts";
import { ScriptedChannel, type ScriptedServer } from "./_scripted.ts";

/** A channel whose EXCHANGE_ID answers `tamper` rewrites (a server out of spec). */
class ExchangeIdTamperer extends ScriptedChannel {
  constructor(
    server: ScriptedServer,
    readonly tamper: (result: ExchangeIdResult) => ExchangeIdResult,
  ) {
    super(server);
  }

  override async compound(
    request: CompoundRequest,
    options: CompoundCallOptions = {},
  ): Promise<CompoundReply> {
    const reply = await super.compound(request, options);
    if (request.ops[0]?.name !== "EXCHANGE_ID" || reply.outcomes[0]?.value === undefined) {
      return reply;
    }
    const [first, ...rest] = reply.outcomes;
    return {
      ...reply,
      outcomes: [{ ...first!, value: this.tamper(first!.value as ExchangeIdResult) }, ...rest],
    };
  }
}

function tampered(tamper: (result: ExchangeIdResult) => ExchangeIdResult) {
  return { noStart: true, channel: (s: ScriptedServer) => new ExchangeIdTamperer(s, tamper) };
}

const NO_OPS = { mustEnforce: new Set<number>(), mustAllow: new Set<number>() };
const PROTECTIONS: readonly [string, StateProtectResult][] = [
  ["SP4_MACH_CRED", { how: StateProtectHow.SP4_MACH_CRED, ops: NO_OPS }],
  ["SP4_SSV", {
    how: StateProtectHow.SP4_SSV,
    ops: NO_OPS,
    hashAlg: 0,
    encrAlg: 0,
    ssvLen: 32,
    window: 1,
    handles: [],
  }],
];

for (const [name, stateProtect] of PROTECTIONS) {
  Deno.test(`NFSv4.1: EXCHANGE_ID answered with ${name} state protection when SP4_NONE was asked is refused, no session made (RFC 8881 §18.35.3)`, async () => {
    await using a = await harness(1, tampered((r) => ({ ...r, stateProtect })));
    const error = await a.drive(a.m.start()).then(() => undefined, (e: unknown) => e);
    assert.ok(error instanceof StateProtectionError, `rejected with ${error}`);
    assert.equal(error.how, name);
    assert.match(error.message, new RegExp(`${name} state protection.*SP4_NONE.*RPCSEC_GSS`));
    const ops = a.ops();
    assert.deepEqual(ops, ["EXCHANGE_ID"], ops.join("\n"));
    assert.equal(a.m.client.clientId, undefined, "the client ID is not taken");
    assert.ok(
      a.details(["clid"]).some((d) => d.startsWith(`EXCHANGE_ID refused (spr_how ${name}:`)),
      a.details(["clid"]).join("\n"),
    );
  });
}

const ODD_FLAGS: readonly [string, number, RegExp][] = [
  ["no pNFS role", F.EXCHGID4_FLAG_SUPP_MOVED_REFER, /no pNFS role/],
  [
    "USE_NON_PNFS with USE_PNFS_MDS",
    F.EXCHGID4_FLAG_USE_NON_PNFS | F.EXCHGID4_FLAG_USE_PNFS_MDS,
    /USE_NON_PNFS with USE_PNFS_MDS, not an acceptable combination/,
  ],
  [
    "UPD_CONFIRMED_REC_A",
    F.EXCHGID4_FLAG_USE_NON_PNFS | F.EXCHGID4_FLAG_UPD_CONFIRMED_REC_A,
    /UPD_CONFIRMED_REC_A, a request's bit/,
  ],
  ["an undefined bit", F.EXCHGID4_FLAG_USE_NON_PNFS | 0x00800000, /undefined bits 0x00800000/],
  [
    "SUPP_FENCE_OPS (4.2's) on 4.1",
    F.EXCHGID4_FLAG_USE_NON_PNFS | F.EXCHGID4_FLAG_SUPP_FENCE_OPS,
    /undefined bits 0x00000004/,
  ],
];

for (const [what, flags, said] of ODD_FLAGS) {
  Deno.test(`NFSv4.1: EXCHANGE_ID eir_flags with ${what} is tolerated and traced (RFC 8881 §18.35.3, §13.1)`, async () => {
    await using a = await harness(1, tampered((r) => ({ ...r, flags: flags >>> 0 })));
    await a.drive(a.m.start());
    assert.notEqual(a.m.client.session, undefined, "the session is made");
    const odd = a.details(["clid"]).filter((d) => d.startsWith("EXCHANGE_ID flags out of spec ("));
    assert.equal(odd.length, 1, a.details(["clid"]).join("\n"));
    assert.match(odd[0]!, said);
    assert.ok(!a.trace.some((e) => e.category === "error"), "no error event");
  });
}

Deno.test("NFSv4.1: an EXCHANGE_ID answer within the RFC (USE_NON_PNFS with USE_PNFS_DS, SUPP_MOVED_REFER, CONFIRMED_R, BIND_PRINC_STATEID) is not traced as odd (RFC 8881 §18.35.3)", async () => {
  const flags = F.EXCHGID4_FLAG_USE_NON_PNFS | F.EXCHGID4_FLAG_USE_PNFS_DS |
    F.EXCHGID4_FLAG_SUPP_MOVED_REFER | F.EXCHGID4_FLAG_BIND_PRINC_STATEID |
    F.EXCHGID4_FLAG_CONFIRMED_R;
  await using a = await harness(1, tampered((r) => ({ ...r, flags: flags >>> 0 })));
  await a.drive(a.m.start());
  assert.notEqual(a.m.client.session, undefined);
  assert.ok(
    !a.details(["clid"]).some((d) => d.startsWith("EXCHANGE_ID flags out of spec")),
    a.details(["clid"]).join("\n"),
  );
});
