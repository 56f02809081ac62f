//! Network-namespace labs: the two-gateway topology on one machine, for
//! the demo, the integration tests and (later) `vrctl lab`.
//!
//! Every namespace is named with a per-process tag, so parallel tests and
//! runs never collide, and is removed in `Drop` — its processes first —
//! also when the caller panics. Traffic stays inside these namespaces.

mod frr;
mod netns;
mod two_gateways;
mod vrouterd_process;

pub use frr::{Frr, FrrBfdPeer, FrrDaemon, frr_installed, parse_bfd_peers};
pub use netns::{LabError, Netns, is_root, unique_tag, veth};
pub use two_gateways::{
    DESTINATION, SERVER_CONFIG, SERVER_PORTS, TTL_VIA_GW1, TTL_VIA_GW2, TwoGatewayLab,
};
pub use vrouterd_process::VrouterdProcess;
