/**
 * The client record: what the kernel keeps in `struct nfs_client` for one
 * server (RFC 7530 §9.1.1, RFC 8881 §2.4, §2.10).
 * @module
 */

import type { ExchangeIdResult } from "../nfs4/ops/exchange_id.ts";
import type { Verifier } from "../nfs4/types.ts";
import { hex } from "../nfs4/types.ts";
import type { ClientFlag } from "./flags.ts";
import type { SlotTable } from "./slot_table.ts";

/** channel_attrs4 as negotiated (RFC 8881 §18.36). */
export interface ChannelAttributes {
  readonly headerPadSize: number;
  readonly maxRequestSize: number;
  readonly maxResponseSize: number;
  readonly maxResponseSizeCached: number;
  readonly maxOperations: number;
  readonly maxRequests: number;
}

/** An NFSv4.1 session (RFC 8881 §2.10). */
export interface Session {
  readonly id: Uint8Array;
  readonly fore: ChannelAttributes;
  readonly back: ChannelAttributes | undefined;
  readonly slots: SlotTable;
  /** CREATE_SESSION4_FLAG_* the server granted. */
  readonly flags: number;
}

export class ClientRecord {
  readonly server: string;
  readonly minorVersion: number;
  /** The client owner string (nfs_client_id4.id / co_ownerid). */
  readonly ownerId: string;
  /** The boot verifier of this incarnation. */
  verifier: Verifier;
  /** Bumped after NFS4ERR_CLID_INUSE, as the kernel's cl_id_uniquifier. */
  uniquifier = 0;
  clientId: bigint | undefined;
  /** The 4.0 SETCLIENTID confirm verifier. */
  confirmVerifier: Verifier | undefined;
  /** The 4.1 EXCHANGE_ID sequence id for the next CREATE_SESSION. */
  createSessionSeq = 0;
  /** Seconds, from the server's lease_time attribute (RFC 7530 §5.8.1.11). */
  leaseTime = 90;
  /** Clock time (ms) when the last request that renewed the lease was sent. */
  lastRenewal = 0;
  session: Session | undefined;
  readonly flags: Set<ClientFlag> = new Set();
  /** The server's major id and scope from EXCHANGE_ID, to notice a different server. */
  serverOwner: string | undefined;
  /** The last EXCHANGE_ID answer (4.1): who the server says it is, what it granted. */
  exchangeId: ExchangeIdResult | undefined;

  constructor(init: { server: string; minorVersion: number; ownerId: string; verifier: Verifier }) {
    this.server = init.server;
    this.minorVersion = init.minorVersion;
    this.ownerId = init.ownerId;
    this.verifier = init.verifier;
  }

  /** The owner string actually sent (with a uniquifier after CLID_INUSE). */
  get wireOwnerId(): string {
    return this.uniquifier === 0 ? this.ownerId : `${this.ownerId}/u${this.uniquifier}`;
  }

  /** `0x5f3c…` for traces. */
  get clientIdText(): string {
    return this.clientId === undefined
      ? "none"
      : `0x${this.clientId.toString(16).padStart(16, "0")}`;
  }

  get sessionIdText(): string {
    return this.session ? hex(this.session.id) : "none";
  }
}
