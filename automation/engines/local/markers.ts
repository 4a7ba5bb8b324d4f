// The file a fenced site carries in its data directory (with standby.signal): this site lost
// the primary role in a failover; restarted, it comes back read-only.
export const FENCE_MARKER = "FENCED_BY_FP_DR";
