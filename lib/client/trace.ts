/**
 * The state manager's trace, as the client API offers it to commands: the
 * event type and its two printed forms. Events come only from the state
 * manager (lib/state); commands print them.
 * @module
 */

export { formatTraceJson, formatTraceText } from "../state/trace.ts";
export type { TraceCategory, TraceEvent, TraceSink } from "../state/trace.ts";
export { formatRange } from "../state/open_state.ts";
