/**
 * The state manager's trace, as the client API offers it to commands: the
 * event type, its two printed forms, and the filter a sink can carry
 * (categories, `ops` with every READ and WRITE or runs of them summarised).
 * Events come only from the state manager (lib/state); commands print them.
 * @module
 */

export {
  DEFAULT_TRACE_CATEGORIES,
  filteredSink,
  formatTraceJson,
  formatTraceText,
  TRACE_CATEGORIES,
  visible,
} from "../state/trace.ts";
export type { TraceCategory, TraceEvent, TraceFilter, TraceSink } from "../state/trace.ts";
export { formatRange } from "../state/open_state.ts";
