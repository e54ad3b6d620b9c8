/**
 * Answering an incoming CALL (RFC 5531 §9): shared by the client transport,
 * which serves the NFSv4.1 backchannel on its own connection, and by
 * {@linkcode RpcServer}, which serves the NFSv4.0 callback program.
 * @module
 */

import { XdrError, type XdrReader, XdrWriter } from "../xdr/mod.ts";
import {
  type AcceptedReplyInit,
  GARBAGE_ARGS,
  PROG_UNAVAIL,
  readCallBody,
  RPC_MISMATCH,
  RPC_VERSION,
  SUCCESS,
  SYSTEM_ERR,
  writeAcceptedReply,
  writeDeniedReply,
} from "./message.ts";
import type { CallHandler, CallHandlerResult } from "./transport.ts";

/**
 * Builds the reply record (4 bytes reserved at offset 0 for the record
 * mark) to the CALL whose body `r` is positioned at. Garbage arguments,
 * unknown programs and handler failures get their accept_stat; nothing a
 * peer sends makes this throw.
 */
export async function answerCall(
  xid: number,
  r: XdrReader,
  handlerFor: (program: number) => CallHandler | undefined,
): Promise<XdrWriter> {
  const accepted = (acceptStat: number, init?: AcceptedReplyInit): XdrWriter => {
    const w = new XdrWriter(64);
    w.reserveUint();
    writeAcceptedReply(w, xid, acceptStat, init);
    return w;
  };
  let body;
  try {
    body = readCallBody(r);
  } catch {
    return accepted(GARBAGE_ARGS);
  }
  if (body.rpcVersion !== RPC_VERSION) {
    const w = new XdrWriter(64);
    w.reserveUint();
    writeDeniedReply(w, xid, {
      rejectStat: RPC_MISMATCH,
      mismatch: { low: RPC_VERSION, high: RPC_VERSION },
    });
    return w;
  }
  const handler = handlerFor(body.program);
  if (!handler) return accepted(PROG_UNAVAIL);
  let result: CallHandlerResult;
  try {
    result = await handler({
      xid,
      program: body.program,
      version: body.version,
      procedure: body.procedure,
      credential: body.credential,
      verifier: body.verifier,
      args: r,
    });
  } catch (error) {
    return accepted(error instanceof XdrError ? GARBAGE_ARGS : SYSTEM_ERR);
  }
  try {
    if (typeof result === "function") {
      const w = accepted(SUCCESS);
      result(w);
      return w;
    }
    return accepted(result.acceptStat, result.mismatch ? { mismatch: result.mismatch } : {});
  } catch {
    // Results that fail to encode, or an invalid accept_stat.
    return accepted(SYSTEM_ERR);
  }
}
