//! Timers and bounds of a neighbor table.

/// How a [`NeighborTable`](super::NeighborTable) ages, retries and bounds
/// its entries. `Default` gives the constants of RFC 4861 §10, which ARP
/// (RFC 826 names no timers) follows too, as Linux does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborConfig {
    /// REACHABLE lasts this long after the last reachability confirmation
    /// (REACHABLE_TIME). Used as is, not randomized per §6.3.2.
    pub reachable_ns: u64,
    /// Time between solicitations to one neighbor (RETRANS_TIMER); also the
    /// per-neighbor rate limit of §7.2.2.
    pub retrans_ns: u64,
    /// Broadcast/multicast solicitations before resolution fails.
    pub max_multicast_solicit: u8,
    /// Unicast probes before a PROBE entry fails.
    pub max_unicast_solicit: u8,
    /// DELAY lasts this long before the first probe (DELAY_FIRST_PROBE_TIME).
    pub delay_first_probe_ns: u64,
    /// Most entries kept; at the bound FAILED then STALE entries are evicted
    /// and, when there are none, nothing new is created.
    pub max_entries: usize,
    /// How long a FAILED entry is remembered, so traffic to a dead next hop
    /// does not restart resolution at the packet rate.
    pub failed_hold_ns: u64,
    /// A STALE entry nobody used for this long is forgotten (Linux's
    /// `gc_stale_time`): any use moves STALE to DELAY, so STALE that long
    /// means unused that long.
    pub stale_gc_ns: u64,
    /// Solicitations (requests, retransmissions and probes) the whole table
    /// may send per second, and the burst above that rate: bounds what a
    /// scan of a connected subnet can make the router emit.
    pub solicit_per_sec: u32,
    pub solicit_burst: u32,
}

const SECOND: u64 = 1_000_000_000;

impl Default for NeighborConfig {
    fn default() -> Self {
        Self {
            reachable_ns: 30 * SECOND,
            retrans_ns: SECOND,
            max_multicast_solicit: 3,
            max_unicast_solicit: 3,
            delay_first_probe_ns: 5 * SECOND,
            max_entries: 4096,
            failed_hold_ns: 3 * SECOND,
            stale_gc_ns: 60 * SECOND,
            solicit_per_sec: 1000,
            solicit_burst: 100,
        }
    }
}
