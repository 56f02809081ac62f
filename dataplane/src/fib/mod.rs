//! The forwarding information base: longest-prefix match for IPv4 and IPv6
//! onto route targets, next-hop groups with tiers and resilient hashing,
//! per-next-hop liveness, and lock-free publication to the dataplane.

pub mod flow_hash;
pub mod group;
pub mod liveness;
pub mod lpm;
pub mod nexthop;
pub mod prefix_set;
pub mod publish;
pub mod resilient;
pub mod snapshot;
pub mod synthetic;
pub mod target;

pub use flow_hash::FlowHasher;
pub use group::{GroupError, Member, NextHopGroup, Selected};
pub use liveness::Liveness;
pub use nexthop::{NextHop, NextHopId};
pub use publish::{FibConfig, FibError, FibGuard, FibReader, FibReaderFactory, FibWriter};
pub use snapshot::FibSnapshot;
pub use target::{GroupId, RouteTarget};
