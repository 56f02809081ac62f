//! The neighbor table of a dataplane core: ARP (RFC 826) and IPv6
//! Neighbor Discovery (RFC 4861) address resolution and reachability
//! detection, so each core rewrites MACs without asking anyone.
//!
//! The table learns only by snooping ([`snoop`]): ARP and ND frames from
//! the wire, and those the host kernel sends out through the port's TAP
//! twin. It never answers ARP or NS itself — the kernel owns the router's
//! addresses on the twin and answers. It solicits on its own for next
//! hops that packets wait for ([`NeighborTable::request`]), with the
//! retransmissions, aging and probes of RFC 4861 §7.3 driven by
//! [`NeighborTable::poll`], rate-limited per neighbor (§7.2.2) and for the
//! whole table. Sans-IO: every call takes `now_ns`; frames in and out are
//! byte slices ([`build_solicitation`] writes them).

pub mod config;
pub mod on_link;
pub mod snoop;
pub mod solicit;
pub mod state;
pub mod table;

pub use config::NeighborConfig;
pub use snoop::{Observation, ObservationKind};
pub use solicit::{Solicitation, build_solicitation};
pub use state::{Learned, NeighborEntryView, NeighborState};
pub use table::{NeighborStats, NeighborTable};
