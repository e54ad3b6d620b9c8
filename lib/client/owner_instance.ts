/**
 * The client owner's instance locks this process holds (see
 * lib/state/client_owner.ts): for a command that runs another process
 * under its state (`nfs4 lock URL -- COMMAND`), which keeps them while it
 * lives, so that the next nfs4 process on the host does not present the
 * same client owner with a new verifier should this one be killed.
 * @module
 */
export { heldInstanceDescriptors } from "../state/client_owner.ts";
