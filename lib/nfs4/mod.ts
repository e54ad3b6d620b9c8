/**
 * NFSv4.0 and NFSv4.1 protocol layer: constants, status codes, errors, basic
 * types, file attributes, the COMPOUND codec, one codec and factory per
 * operation, and the callback program.
 *
 * @example
 * ```ts
 * import { Attr, compoundResults, getattr, getfh, lookup, putrootfh } from "./lib/nfs4/mod.ts";
 * const ops = [putrootfh(), lookup("export"), getfh(), getattr([Attr.TYPE, Attr.SIZE])] as const;
 * const [, , fh, { attrs }] = compoundResults(reply, ops);
 * ```
 * @module
 */

export * from "./constants.ts";
export * from "./status.ts";
export * from "./errors.ts";
export * from "./types.ts";
export * from "./names.ts";
export * from "./attrs.ts";
export * from "./compound.ts";
export * from "./registry.ts";
export * from "./callback.ts";
export * from "./ops/access.ts";
export * from "./ops/backchannel_ctl.ts";
export * from "./ops/bind_conn_to_session.ts";
export * from "./ops/close.ts";
export * from "./ops/commit.ts";
export * from "./ops/create.ts";
export * from "./ops/create_session.ts";
export * from "./ops/delegpurge.ts";
export * from "./ops/delegreturn.ts";
export * from "./ops/destroy_clientid.ts";
export * from "./ops/destroy_session.ts";
export * from "./ops/exchange_id.ts";
export * from "./ops/free_stateid.ts";
export * from "./ops/get_dir_delegation.ts";
export * from "./ops/getattr.ts";
export * from "./ops/getfh.ts";
export * from "./ops/link.ts";
export * from "./ops/lock.ts";
export * from "./ops/lockt.ts";
export * from "./ops/locku.ts";
export * from "./ops/lookup.ts";
export * from "./ops/lookupp.ts";
export * from "./ops/nverify.ts";
export * from "./ops/open.ts";
export * from "./ops/open_confirm.ts";
export * from "./ops/open_downgrade.ts";
export * from "./ops/openattr.ts";
export * from "./ops/putfh.ts";
export * from "./ops/putpubfh.ts";
export * from "./ops/putrootfh.ts";
export * from "./ops/read.ts";
export * from "./ops/readdir.ts";
export * from "./ops/readlink.ts";
export * from "./ops/reclaim_complete.ts";
export * from "./ops/release_lockowner.ts";
export * from "./ops/remove.ts";
export * from "./ops/rename.ts";
export * from "./ops/renew.ts";
export * from "./ops/restorefh.ts";
export * from "./ops/savefh.ts";
export * from "./ops/secinfo.ts";
export * from "./ops/secinfo_no_name.ts";
export * from "./ops/seek.ts";
export * from "./ops/sequence.ts";
export * from "./ops/setattr.ts";
export * from "./ops/setclientid.ts";
export * from "./ops/setclientid_confirm.ts";
export * from "./ops/test_stateid.ts";
export * from "./ops/verify.ts";
export * from "./ops/want_delegation.ts";
export * from "./ops/write.ts";
