/**
 * The client's state flags (the kernel's `nfs_client.cl_state` bits,
 * NFS4CLNT_*) and the fixed order in which the state manager handles them
 * (nfs4_state_manager).
 * @module
 */

/** In the order the state manager handles them: first is most urgent. */
export const FLAG_ORDER = [
  /** Forget all state (client ID lost for good, e.g. a new incarnation). */
  "PURGE_STATE",
  /** No valid client ID: establish one (SETCLIENTID/CONFIRM or EXCHANGE_ID/CREATE_SESSION). */
  "LEASE_EXPIRED",
  /** Find out whether the lease is still valid (RENEW or SEQUENCE). */
  "CHECK_LEASE",
  /** Destroy and re-create the session (4.1). */
  "SESSION_RESET",
  /** Bind this connection to the session (4.1 BIND_CONN_TO_SESSION). */
  "BIND_CONN_TO_SESSION",
  /** Reclaim opens and locks within the grace period (CLAIM_PREVIOUS, reclaim locks). */
  "RECLAIM_REBOOT",
  /** Ask which stateids are still valid (4.1 TEST_STATEID), free the dead ones. */
  "TEST_STATEIDS",
  /** Re-open and re-lock outside grace (CLAIM_NULL / CLAIM_FH). */
  "RECLAIM_NOGRACE",
  /** Return delegations that must go back. */
  "DELEGRETURN",
] as const;

/** A state-manager flag: a recovery step pending (`SESSION_RESET`, `RECLAIM_REBOOT`...), handled in {@linkcode FLAG_ORDER}'s order. */
export type ClientFlag = (typeof FLAG_ORDER)[number];
