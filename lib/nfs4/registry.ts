/**
 * Every operation codec by op number: what a scripted server passes to
 * `decodeCompoundRequest` and `encodeCompoundReply`.
 * @module
 */

import type { OpCodec } from "./compound.ts";
import { ACCESS } from "./ops/access.ts";
import { BACKCHANNEL_CTL } from "./ops/backchannel_ctl.ts";
import { BIND_CONN_TO_SESSION } from "./ops/bind_conn_to_session.ts";
import { CLOSE } from "./ops/close.ts";
import { COMMIT } from "./ops/commit.ts";
import { CREATE } from "./ops/create.ts";
import { CREATE_SESSION } from "./ops/create_session.ts";
import { DELEGPURGE } from "./ops/delegpurge.ts";
import { DELEGRETURN } from "./ops/delegreturn.ts";
import { DESTROY_CLIENTID } from "./ops/destroy_clientid.ts";
import { DESTROY_SESSION } from "./ops/destroy_session.ts";
import { EXCHANGE_ID } from "./ops/exchange_id.ts";
import { FREE_STATEID } from "./ops/free_stateid.ts";
import { GET_DIR_DELEGATION } from "./ops/get_dir_delegation.ts";
import { GETATTR } from "./ops/getattr.ts";
import { GETFH } from "./ops/getfh.ts";
import { LINK } from "./ops/link.ts";
import { LOCK } from "./ops/lock.ts";
import { LOCKT } from "./ops/lockt.ts";
import { LOCKU } from "./ops/locku.ts";
import { LOOKUP } from "./ops/lookup.ts";
import { LOOKUPP } from "./ops/lookupp.ts";
import { NVERIFY } from "./ops/nverify.ts";
import { OPEN } from "./ops/open.ts";
import { OPEN_CONFIRM } from "./ops/open_confirm.ts";
import { OPEN_DOWNGRADE } from "./ops/open_downgrade.ts";
import { OPENATTR } from "./ops/openattr.ts";
import { PUTFH } from "./ops/putfh.ts";
import { PUTPUBFH } from "./ops/putpubfh.ts";
import { PUTROOTFH } from "./ops/putrootfh.ts";
import { READ } from "./ops/read.ts";
import { READDIR } from "./ops/readdir.ts";
import { READLINK } from "./ops/readlink.ts";
import { RECLAIM_COMPLETE } from "./ops/reclaim_complete.ts";
import { RELEASE_LOCKOWNER } from "./ops/release_lockowner.ts";
import { REMOVE } from "./ops/remove.ts";
import { RENAME } from "./ops/rename.ts";
import { RENEW } from "./ops/renew.ts";
import { RESTOREFH } from "./ops/restorefh.ts";
import { SAVEFH } from "./ops/savefh.ts";
import { SECINFO } from "./ops/secinfo.ts";
import { SECINFO_NO_NAME } from "./ops/secinfo_no_name.ts";
import { SEEK } from "./ops/seek.ts";
import { SEQUENCE } from "./ops/sequence.ts";
import { SETATTR } from "./ops/setattr.ts";
import { SETCLIENTID } from "./ops/setclientid.ts";
import { SETCLIENTID_CONFIRM } from "./ops/setclientid_confirm.ts";
import { TEST_STATEID } from "./ops/test_stateid.ts";
import { VERIFY } from "./ops/verify.ts";
import { WANT_DELEGATION } from "./ops/want_delegation.ts";
import { WRITE } from "./ops/write.ts";

function entry<A, R>(codec: OpCodec<A, R>): [number, OpCodec<unknown, unknown>] {
  return [codec.opnum, codec as unknown as OpCodec<unknown, unknown>];
}

/** The codec of every operation this client implements, keyed by op number. */
export const OP_CODECS: ReadonlyMap<number, OpCodec<unknown, unknown>> = new Map([
  entry(ACCESS),
  entry(BACKCHANNEL_CTL),
  entry(BIND_CONN_TO_SESSION),
  entry(CLOSE),
  entry(COMMIT),
  entry(CREATE),
  entry(CREATE_SESSION),
  entry(DELEGPURGE),
  entry(DELEGRETURN),
  entry(DESTROY_CLIENTID),
  entry(DESTROY_SESSION),
  entry(EXCHANGE_ID),
  entry(FREE_STATEID),
  entry(GETATTR),
  entry(GETFH),
  entry(GET_DIR_DELEGATION),
  entry(LINK),
  entry(LOCK),
  entry(LOCKT),
  entry(LOCKU),
  entry(LOOKUP),
  entry(LOOKUPP),
  entry(NVERIFY),
  entry(OPEN),
  entry(OPENATTR),
  entry(OPEN_CONFIRM),
  entry(OPEN_DOWNGRADE),
  entry(PUTFH),
  entry(PUTPUBFH),
  entry(PUTROOTFH),
  entry(READ),
  entry(READDIR),
  entry(READLINK),
  entry(RECLAIM_COMPLETE),
  entry(RELEASE_LOCKOWNER),
  entry(REMOVE),
  entry(RENAME),
  entry(RENEW),
  entry(RESTOREFH),
  entry(SAVEFH),
  entry(SECINFO),
  entry(SECINFO_NO_NAME),
  entry(SEEK),
  entry(SEQUENCE),
  entry(SETATTR),
  entry(SETCLIENTID),
  entry(SETCLIENTID_CONFIRM),
  entry(TEST_STATEID),
  entry(VERIFY),
  entry(WANT_DELEGATION),
  entry(WRITE),
]);
