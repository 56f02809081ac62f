//! vrouter control plane (protocols, RIB, FIB builder) — see DESIGN.md.

pub mod bgp;
pub mod clock;
pub mod event_loop;
pub mod protocol;
pub mod recorder;
pub mod rib;
pub mod route;
pub mod static_routing;
pub mod timer_wheel;
pub mod tracking;
