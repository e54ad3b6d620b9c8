/**
 * ONC RPC version 2 over TCP (RFC 5531): record marking (§11), message
 * headers (§9), AUTH_NONE and AUTH_SYS credentials (§8.2, §10.1, appendix A)
 * and a pipelined transport that also serves the NFSv4.1 backchannel.
 *
 * @example
 * ```ts
 * import { NFS_PROGRAM, NFS_V4, RpcTransport } from "./lib/rpc/mod.ts";
 * const transport = new RpcTransport({ host: "127.0.0.1", port: 2049 });
 * await transport.call({ program: NFS_PROGRAM, version: NFS_V4, procedure: 0 });
 * await transport.close();
 * ```
 * @module
 */

export {
  AUTH_BADCRED,
  AUTH_BADVERF,
  AUTH_DH,
  AUTH_FAILED,
  AUTH_INVALIDRESP,
  AUTH_NONE,
  AUTH_OK,
  AUTH_REJECTEDCRED,
  AUTH_REJECTEDVERF,
  AUTH_SHORT,
  AUTH_SYS,
  AUTH_SYS_MAX_GIDS,
  AUTH_SYS_MAX_MACHINE_NAME,
  AUTH_TOOWEAK,
  authNone,
  authStatName,
  authSys,
  type AuthSysParams,
  decodeAuthSys,
  MAX_AUTH_BYTES,
  type OpaqueAuth,
  readAuthSysParams,
  readOpaqueAuth,
  RPCSEC_GSS,
  RPCSEC_GSS_CREDPROBLEM,
  RPCSEC_GSS_CTXPROBLEM,
  writeAuthSysParams,
  writeOpaqueAuth,
} from "./auth.ts";
export {
  formatEndpoint,
  replyError,
  RpcAcceptedError,
  type RpcCallTarget,
  RpcConnectionError,
  RpcDeniedError,
  RpcError,
  type RpcErrorOptions,
  RpcProtocolError,
  RpcRecordTooFragmentedError,
  RpcRecordTooLargeError,
  RpcTimeoutError,
} from "./errors.ts";
export {
  type AcceptedReply,
  type AcceptedReplyInit,
  acceptStatName,
  AUTH_ERROR,
  type AuthErrorReply,
  CALL,
  type CallBody,
  type CallHeader,
  type CallHeaderInit,
  GARBAGE_ARGS,
  type MessageStart,
  MSG_ACCEPTED,
  MSG_DENIED,
  PROC_UNAVAIL,
  PROG_MISMATCH,
  PROG_UNAVAIL,
  readCallBody,
  readCallHeader,
  readMessageStart,
  readReplyBody,
  readReplyHeader,
  REPLY,
  type ReplyBody,
  RPC_MISMATCH,
  RPC_VERSION,
  type RpcMismatchReply,
  SUCCESS,
  SYSTEM_ERR,
  type VersionRange,
  writeAcceptedReply,
  writeCallHeader,
  writeDeniedReply,
} from "./message.ts";
export {
  ipv4Checksum,
  LINKTYPE_ETHERNET,
  MAX_SEGMENT_PAYLOAD,
  parseAddress,
  PCAP_MAGIC_MICROSECONDS,
  PCAP_MAGIC_NANOSECONDS,
  PCAP_SNAPLEN,
  type PcapCounts,
  PcapWriter,
  type PcapWriterOptions,
} from "./pcap.ts";
export { NFS4_CALLBACK_PROGRAM_DEFAULT, NFS_PROGRAM, NFS_V4 } from "./programs.ts";
export {
  DEFAULT_MAX_RECORD_SIZE,
  encodeRecord,
  LAST_FRAGMENT,
  MAX_FRAGMENT_LENGTH,
  MAX_FRAGMENTS_PER_RECORD,
  RecordDecoder,
  type RecordDecoderOptions,
} from "./record_marking.ts";
export {
  type ConnectionTap,
  type RecordDirection,
  type RecordTap,
  singleFragmentMark,
  type TapConnectionInfo,
  type TapEndpoint,
} from "./tap.ts";
export {
  type CallHandler,
  type CallHandlerResult,
  DEFAULT_CALL_TIMEOUT_MS,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_MAX_IN_FLIGHT,
  DEFAULT_READ_BUFFER_SIZE,
  type IncomingCall,
  type RpcAttempt,
  type RpcCallOptions,
  type RpcConnectEventDetail,
  type RpcDisconnectEventDetail,
  type RpcReply,
  RpcTransport,
  type RpcTransportEventMap,
  type RpcTransportOptions,
} from "./transport.ts";
