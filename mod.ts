/**
 * nfs4: a userspace NFSv4.0/4.1/4.2 client library (RFC 7530, 8881, 7862)
 * that runs under Deno, Bun and Node: {@linkcode Nfs4Client.connect}
 * connects, and the client lists, reads, writes and locks by path.
 *
 * - **Ending a client.** `close()` releases what it holds (LOCKU, CLOSE; on
 *   4.1 DESTROY_SESSION and DESTROY_CLIENTID); `await using` calls it at
 *   the end of the block. Until then its TCP connection keeps the process
 *   alive (the lease renewal timer does not), so that a client forgotten
 *   with state on the server shows rather than exiting silently.
 * - **Stopping work.** Aborting `ConnectOptions.signal` ends the client as
 *   Ctrl-C ends a command: what is in flight stops, every later call is
 *   refused with the signal's reason, and `close()` (within 1.5 s) releases
 *   what it holds; `cleanupWork()` lets cleanup out meanwhile.
 *   `withOperationSignal()` stops one piece of work and keeps the client.
 * - **Errors** are classes exported here: `NfsError` (with the NFS status),
 *   `ClientClosedError`, `FileClosedError`, `RpcConnectionError`...
 *
 * @example
 * ```ts
 * import { Nfs4Client, parseNfsUrl } from "./mod.ts";
 * const url = parseNfsUrl("nfs://127.0.0.1:2049/vfs");
 * await using client = await Nfs4Client.connect({ host: url.host, port: url.port });
 * for await (const entry of client.readdir(url.path)) console.log(entry.name, entry.size);
 * await using file = await client.openRead(`${url.path}/hello.txt`);
 * for await (const chunk of file.chunks()) console.log(chunk.length);
 * ```
 * @module
 */

export { CreatedFileLeftError, Nfs4Client } from "./lib/client/client.ts";
export type { NfsFile } from "./lib/client/client.ts";
export type {
  ConnectOptions,
  FileSetattr,
  LeaseProbe,
  LockHolder,
  LockLost,
  LockOptions,
  LockRange,
  Nfs4ClientApi,
  OpenFile,
  OpenOptions,
  PathSetattr,
  ReaddirField,
  ReaddirOptions,
  StateSummary,
  StatOptions,
  TimeToSet,
  WritableFile,
} from "./lib/client/api.ts";
export {
  AttributesNotSetError,
  FileClosedError,
  LockConflictError,
  MinorVersionError,
  PathError,
  StateNotReleasedError,
  WriteNotCommittedError,
} from "./lib/client/errors.ts";
export { SymlinkInTreeError } from "./lib/client/tree_guard.ts";
export { LockWaitDeadline, lockWithWait } from "./lib/client/lock_wait.ts";
export {
  cleanupWork,
  withAddedOperationSignal,
  withOperationSignal,
} from "./lib/client/operation_scope.ts";
export type {
  LockDenial,
  LockWaitOptions,
  LockWaitResult,
  WaitClock,
  WakeSource,
} from "./lib/client/lock_wait.ts";
export {
  copy,
  CopyError,
  DEFAULT_TUNING,
  IncompleteCopyError,
  Leftovers,
  LocalFileError,
  parseLocation,
  PRESERVE_ALL,
  PRESERVE_P,
} from "./lib/client/copy/mod.ts";
export type {
  CopyOptions,
  CopyProgress,
  CopySummary,
  CopyTuning,
  CopyTuningOverrides,
  Dereference,
  Leftover,
  Location,
  PreserveChoice,
  PreserveSet,
  SparseMode,
} from "./lib/client/copy/mod.ts";
export type {
  AttributeReport,
  AttributeValues,
  FileInfo,
  FileKind,
  VersionChoice,
} from "./lib/client/types.ts";
// The types of AttributeValues' fields, each documented where it is defined.
export type {
  Acl41,
  ChangePolicy,
  Fsid,
  FsLocation,
  FsLocations,
  FsStatus,
  LayoutHint,
  ModeMasked,
  ModeUmask,
  SetTime,
} from "./lib/nfs4/attrs.ts";
export type { Ace, FileHandle, NfsTime, SpecData } from "./lib/nfs4/types.ts";
export { PcapWriter } from "./lib/client/pcap.ts";
export type {
  ConnectionTap,
  PcapCounts,
  PcapWriterOptions,
  RecordDirection,
  RecordTap,
  TapConnectionInfo,
  TapEndpoint,
} from "./lib/client/pcap.ts";
export { formatNfsUrl, joinUrl, parseNfsUrl, UsageError } from "./lib/client/url.ts";
export type { NfsUrl } from "./lib/client/url.ts";
export { Nfs4ProtocolError, NfsError } from "./lib/nfs4/errors.ts";
export { XdrError } from "./lib/xdr/error.ts";
export { NFS4_UINT64_MAX } from "./lib/nfs4/constants.ts";
export {
  RpcAcceptedError,
  RpcConnectionError,
  RpcDeniedError,
  RpcError,
  RpcProtocolError,
  RpcRecordTooFragmentedError,
  RpcRecordTooLargeError,
  RpcTimeoutError,
} from "./lib/rpc/errors.ts";
export type { VersionRange } from "./lib/rpc/message.ts";
export { Nfs4Status, STATUS_TABLE, statusMessage, statusName } from "./lib/nfs4/status.ts";
export type { Nfs4StatusName } from "./lib/nfs4/status.ts";
export { BadStateError } from "./lib/state/open_state.ts";
export {
  ClientClosedError,
  RecoveryError,
  RecoveryFailedNfsError,
  RecoveryTimeoutError,
  SendWaitTimeoutError,
  ServerNotRespondingError,
  SessionGrantError,
  StateProtectionError,
} from "./lib/state/manager.ts";
export {
  DEFAULT_TRACE_CATEGORIES,
  filteredSink,
  formatTraceJson,
  formatTraceText,
  TRACE_CATEGORIES,
} from "./lib/client/trace.ts";
export { Tracer } from "./lib/state/trace.ts";
export type {
  CompoundTrace,
  TraceCategory,
  TraceEvent,
  TraceFilter,
  TraceSink,
} from "./lib/state/trace.ts";
export { FLAG_ORDER } from "./lib/state/flags.ts";
export { setStreamingReplyWait, useFfiSockets } from "./lib/rpc/socket_backend.ts";
export type { ClientFlag } from "./lib/state/flags.ts";
