//! Reachability tracking: whether a target answers, decided from probes.
//!
//! [`probe::ProbeTracker`] is the sans-IO half — when to send, when a probe
//! has timed out, when enough answers or misses in a row flip the verdict.
//! The sockets that carry the probes (ICMP echo, ARP, NDP) live with the
//! host code in the router crate; this module never sees a packet, only
//! sequence numbers.

pub mod probe;
