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

/**
 * The least time between a renewal and the end of the lease it keeps: a
 * server's whole-second lease accounting (up to 1 s) and the renewal's own
 * way there.
 */
export const RENEWAL_MARGIN_MS = 1500;

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
  /**
   * 4.1: a CREATE_SESSION that got no answer (every transmission timed out
   * or lost its connection, the server answered NFS4ERR_DELAY while it
   * still ran it, or an interrupt stopped it in flight): the client ID and
   * csa_sequence it carried. The server may have made the session; the
   * next CREATE_SESSION for that client ID carries the same csa_sequence,
   * whatever EXCHANGE_ID says, so that the server answers it from its
   * CREATE_SESSION replay cache with that session rather than make a
   * second one (RFC 8881 §18.36.4). Cleared by any other answer.
   */
  createSessionUnanswered: { readonly clientId: bigint; readonly sequence: number } | undefined;
  /** Seconds, from the server's lease_time attribute (RFC 7530 §5.8.1.11). */
  leaseTime = 90;
  /** Clock time (ms) when the last request that renewed the lease was sent. */
  lastRenewal = 0;
  /**
   * Why the server holds state this client does not know of, when it does
   * (a CLOSE answered NFS4ERR_LOCKS_HELD after a LOCK stopped in flight):
   * the client ID is then left to expire, not destroyed (procs.releaseAll).
   */
  unknownState: string | undefined;

  /**
   * How long after the last renewal the next one is due: 2/3 of the lease,
   * as the kernel's renewd (nfs4_schedule_state_renewal), but no later than
   * {@linkcode RENEWAL_MARGIN_MS} before the lease ends. Servers count
   * leases in whole seconds (Ganesha compares `time(NULL)` with the second
   * of the last renewal), so a lease can end up to a second early by this
   * client's clock; with a lease of a few seconds (a test server, a server
   * configured so) 2/3 leaves less than that, and a renewal sent on time
   * found the client expired. Leases of 4.5 s and more renew at 2/3 as
   * before; the RFC leaves the moment to the client (RFC 7530 §9.6, RFC
   * 8881 §8.3).
   */
  get renewalPeriodMs(): number {
    const lease = this.leaseTime * 1000;
    return Math.max(lease / 3, Math.min((lease * 2) / 3, lease - RENEWAL_MARGIN_MS));
  }
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
