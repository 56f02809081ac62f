//! The frames the table sends to resolve or re-check a neighbor: an ARP
//! request (RFC 826) or a Neighbor Solicitation (RFC 4861 §4.3, §7.2.2),
//! broadcast/multicast to resolve, unicast to probe (§7.3.3).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::packet::icmpv6::{Icmpv6Packet, Icmpv6Repr, LLADDR_OPTION_LEN, NEIGHBOR_MSG_LEN};
use crate::packet::ipv6::{self, Ipv6Packet, Ipv6Repr};
use crate::packet::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, IpProtocol, MacAddr,
    NdpNeighborSolicit, arp, ethernet,
};
use crate::pipeline::PortConfig;
use crate::port::PortId;

use super::on_link;

/// A solicitation the table wants sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Solicitation {
    pub port: PortId,
    pub target: IpAddr,
    /// The cached MAC, for a reachability probe; None to resolve.
    pub unicast_to: Option<MacAddr>,
}

/// Shortest Ethernet frame without FCS: an ARP request is padded to it.
pub const MIN_FRAME_LEN: usize = 60;
/// An ARP request as built here.
pub const ARP_REQUEST_FRAME_LEN: usize = MIN_FRAME_LEN;
/// An NS with a source link-layer address option, as built here.
pub const NS_FRAME_LEN: usize =
    ethernet::HEADER_LEN + ipv6::HEADER_LEN + NEIGHBOR_MSG_LEN + LLADDR_OPTION_LEN;

/// The hop limit every ND message carries (RFC 4861 §7.1.1).
const ND_HOP_LIMIT: u8 = 255;

/// Writes the solicitation into `buf` and returns the frame length; None
/// when `buf` is too short, the target is not a neighbor address of the
/// port (only those can ever be learnt, so asking would be useless), or
/// the port has no address to ask from.
pub fn build_solicitation(sol: &Solicitation, port: &PortConfig, buf: &mut [u8]) -> Option<usize> {
    if !on_link::is_neighbor(port, sol.target) {
        return None;
    }
    match sol.target {
        IpAddr::V4(target) => build_arp_request(target, sol.unicast_to, port, buf),
        IpAddr::V6(target) => build_neighbor_solicit(target, sol.unicast_to, port, buf),
    }
}

/// The port's address on the target's subnet: the address the neighbor
/// will answer and learn us by (RFC 1812 §3.3.2 points to RFC 1122 §2.3.2).
fn ipv4_source(port: &PortConfig, target: Ipv4Addr) -> Option<Ipv4Addr> {
    port.ipv4
        .iter()
        .find(|net| net.contains(&target))
        .map(|net| net.addr())
}

/// RFC 4861 §7.2.2 allows any address of the interface; one the target
/// shares a scope with is the one its reply and its own cache entry will
/// use: link-local for a link-local target, else an address of the
/// target's prefix, else the link-local, else any.
fn ipv6_source(port: &PortConfig, target: Ipv6Addr) -> Option<Ipv6Addr> {
    let addrs = || port.ipv6.iter();
    let link_local = || {
        addrs()
            .map(|net| net.addr())
            .find(|a| on_link::is_link_local_v6(*a))
    };
    if on_link::is_link_local_v6(target) {
        return link_local().or_else(|| addrs().next().map(|net| net.addr()));
    }
    addrs()
        .find(|net| net.contains(&target))
        .map(|net| net.addr())
        .or_else(link_local)
        .or_else(|| addrs().next().map(|net| net.addr()))
}

fn build_arp_request(
    target: Ipv4Addr,
    unicast_to: Option<MacAddr>,
    port: &PortConfig,
    buf: &mut [u8],
) -> Option<usize> {
    let source = ipv4_source(port, target)?;
    let frame = buf.get_mut(..ARP_REQUEST_FRAME_LEN)?;
    frame.fill(0);
    let eth = EthernetRepr {
        src_addr: port.mac,
        dst_addr: unicast_to.unwrap_or(MacAddr::BROADCAST),
        ethertype: EtherType::Arp,
    };
    let mut eth_frame = EthernetFrame::new_unchecked(&mut *frame);
    eth.emit(&mut eth_frame);
    let request = ArpRepr {
        operation: ArpOperation::Request,
        sender_hardware_addr: port.mac,
        sender_protocol_addr: source,
        // RFC 826: the target hardware address of a request is unknown;
        // zero, as every common stack sends it.
        target_hardware_addr: MacAddr::ZERO,
        target_protocol_addr: target,
    };
    let payload = eth_frame.payload_mut().get_mut(..arp::PACKET_LEN)?;
    request.emit(&mut ArpPacket::new_unchecked(payload));
    Some(ARP_REQUEST_FRAME_LEN)
}

/// ff02::1:ffXX:XXXX, from the target's low 24 bits (RFC 4291 §2.7.1).
pub fn solicited_node_multicast(target: Ipv6Addr) -> Ipv6Addr {
    let t = target.octets();
    Ipv6Addr::from([
        0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, t[13], t[14], t[15],
    ])
}

/// 33:33 and the group's low 32 bits (RFC 2464 §7).
pub fn multicast_mac(group: Ipv6Addr) -> MacAddr {
    let g = group.octets();
    MacAddr([0x33, 0x33, g[12], g[13], g[14], g[15]])
}

fn build_neighbor_solicit(
    target: Ipv6Addr,
    unicast_to: Option<MacAddr>,
    port: &PortConfig,
    buf: &mut [u8],
) -> Option<usize> {
    let source = ipv6_source(port, target)?;
    let (dst_ip, dst_mac) = match unicast_to {
        Some(mac) => (target, mac),
        None => {
            let group = solicited_node_multicast(target);
            (group, multicast_mac(group))
        }
    };
    let frame = buf.get_mut(..NS_FRAME_LEN)?;
    let eth = EthernetRepr {
        src_addr: port.mac,
        dst_addr: dst_mac,
        ethertype: EtherType::Ipv6,
    };
    let mut eth_frame = EthernetFrame::new_unchecked(&mut *frame);
    eth.emit(&mut eth_frame);
    // §7.2.2: MUST include our link-layer address when multicast, SHOULD
    // when unicast; always including it saves the probed neighbor a
    // resolution of its own before it can answer.
    let ns = Icmpv6Repr::NeighborSolicit(NdpNeighborSolicit {
        target,
        source_lladdr: Some(port.mac),
    });
    let ip = Ipv6Repr {
        src_addr: source,
        dst_addr: dst_ip,
        next_header: IpProtocol::Icmpv6,
        payload_len: u16::try_from(ns.buffer_len()).ok()?,
        hop_limit: ND_HOP_LIMIT,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut packet = Ipv6Packet::new_unchecked(eth_frame.payload_mut());
    ip.emit(&mut packet);
    let message = packet.payload_mut();
    ns.emit(&source, &dst_ip, &mut Icmpv6Packet::new_unchecked(message));
    Some(NS_FRAME_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicited_node_group_and_its_mac() {
        // RFC 4291 §2.7.1 example form; RFC 2464 §7 mapping.
        let target: Ipv6Addr = "2001:db8::4:5:6a:1b2c".parse().unwrap();
        let group = solicited_node_multicast(target);
        assert_eq!(group, "ff02::1:ff6a:1b2c".parse::<Ipv6Addr>().unwrap());
        assert_eq!(
            multicast_mac(group),
            MacAddr([0x33, 0x33, 0xff, 0x6a, 0x1b, 0x2c])
        );
    }

    #[test]
    fn v6_source_follows_the_target_scope() {
        let port = PortConfig {
            name: "eth0".into(),
            mac: MacAddr([2, 0, 0, 0, 0, 1]),
            mtu: 1500,
            ipv4: vec![],
            ipv6: vec![
                "2001:db8:a::1/64".parse().unwrap(),
                "fe80::1/64".parse().unwrap(),
                "2001:db8:b::1/64".parse().unwrap(),
            ],
        };
        let src = |t: &str| ipv6_source(&port, t.parse().unwrap()).unwrap().to_string();
        assert_eq!(src("fe80::9"), "fe80::1");
        assert_eq!(src("2001:db8:b::9"), "2001:db8:b::1");
        assert_eq!(src("2001:db8:c::9"), "fe80::1");
    }
}
