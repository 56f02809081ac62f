//! The host side of the linux-cp model (DESIGN.md, "Host side
//! (punt/inject)"): for every port the dataplane owns, a TAP twin in the
//! kernel carries the port's MAC, MTU and the router's addresses, while the
//! real port keeps no addresses and no IPv6 of its own. The kernel then sees
//! each subnet once, on the twin; frames the dataplane punts are written
//! into the twin and what the kernel sends on the twin is read back here.
//!
//! Everything is synchronous: the daemon calls these at start and stop and,
//! for the TAP file descriptors and [`carrier`], from its event loop.

mod error;
mod interface_name;
mod ipv6_conf;
pub mod kernel_routes;
mod link_state;
mod netlink;
pub mod probe_socket;
mod stale_twins;
mod tap;
mod twin;

pub use error::HostError;
pub use interface_name::{IFNAME_MAX_LEN, validate_interface_name};
pub use kernel_routes::{
    DEFAULT_METRIC, KernelNextHop, KernelRoute, KernelRouteChange, KernelRouteSync, KernelTarget,
    MAIN_TABLE, RouteFailure, SyncReport, VROUTER_RTPROT,
};
pub use link_state::{OperState, carrier};
pub use netlink::{LinkInfo, Netlink};
pub use probe_socket::{ArpProbe, EchoProbe, NdProbe, ProbeSocket};
pub use stale_twins::remove_stale_twins;
pub use tap::TapDevice;
pub use twin::PortTwin;
