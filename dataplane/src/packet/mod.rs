//! Zero-copy packet views (smoltcp style): `Xxx<T: AsRef<[u8]>>` wraps a
//! byte buffer, `new_checked` validates lengths once, accessors never panic,
//! and a `XxxRepr` is the validated, owned high-level form with
//! `parse`/`emit`.
//!
//! Accessors read through bounds-checked field access, so even a view made
//! with `new_unchecked` over a short buffer returns zeros instead of
//! panicking, and setters on it write nothing. `XxxRepr::buffer_len()` is
//! the number of bytes `emit` writes: the header alone for the layered
//! protocols (Ethernet, VLAN, IPv4, IPv6, UDP), the whole message for ARP
//! and ICMP, whose reprs carry their data.

pub mod arp;
pub mod checksum;
pub mod error;
pub mod ethernet;
mod field;
pub mod icmpv4;
pub mod icmpv6;
pub mod ip_protocol;
pub mod ipv4;
pub mod ipv6;
pub mod mac_addr;
pub mod tcp;
mod transport_ports;
pub mod udp;
pub mod vlan;

pub use arp::{ArpOperation, ArpPacket, ArpRepr};
pub use error::ParseError;
pub use ethernet::{EtherType, EthernetFrame, EthernetRepr};
pub use icmpv4::{Icmpv4Packet, Icmpv4Repr, Icmpv4Type};
pub use icmpv6::{
    Icmpv6Packet, Icmpv6Repr, Icmpv6Type, NdpNeighborAdvert, NdpNeighborSolicit, NdpOptions,
};
pub use ip_protocol::IpProtocol;
pub use ipv4::{Ipv4Option, Ipv4Options, Ipv4Packet, Ipv4Repr};
pub use ipv6::{FragmentInfo, Ipv6Packet, Ipv6Repr, UpperLayer};
pub use mac_addr::MacAddr;
pub use tcp::{TcpFlags, TcpPacket};
pub use transport_ports::transport_ports;
pub use udp::{UdpPacket, UdpRepr};
pub use vlan::{VlanRepr, VlanTag};
