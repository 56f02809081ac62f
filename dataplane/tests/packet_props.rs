//! Property tests over every packet view and repr:
//! (1) arbitrary bytes never make a view or an accessor panic, checked or
//!     not; (2) every repr survives emit → parse unchanged; (3) every strict
//!     prefix of a valid frame is refused with an error, never a panic.
//! (The checksum-update property is in packet_checksum.rs.)

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use dataplane::packet::arp::{self, ArpOperation, ArpPacket, ArpRepr};
use dataplane::packet::ethernet::{self, EtherType, EthernetFrame, EthernetRepr};
use dataplane::packet::icmpv4::{Icmpv4Packet, Icmpv4Repr};
use dataplane::packet::icmpv6::{Icmpv6Packet, Icmpv6Repr, NdpNeighborAdvert, NdpNeighborSolicit};
use dataplane::packet::ipv4::{self, Ipv4Packet, Ipv4Repr};
use dataplane::packet::ipv6::{self, Ipv6Packet, Ipv6Repr};
use dataplane::packet::tcp::{TcpFlags, TcpPacket};
use dataplane::packet::udp::{self, UdpPacket, UdpRepr};
use dataplane::packet::vlan::{self, VlanRepr, VlanTag};
use dataplane::packet::{IpProtocol, MacAddr, ParseError, transport_ports};
use proptest::prelude::*;

// ------------------------------------------------------------ exercising

/// Keeps a value alive so the call that produced it is not optimized out.
fn sink<T>(value: T) {
    let _ = black_box(value);
}

const V4: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const V6: Ipv6Addr = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);

/// Calls every read accessor of every view on `bytes`.
fn read_everything(bytes: &[u8]) {
    let e = EthernetFrame::new_unchecked(bytes);
    sink((
        e.dst_addr(),
        e.src_addr(),
        e.ethertype(),
        e.payload(),
        e.into_payload(),
    ));
    sink(EthernetRepr::parse(&e));

    let v = VlanTag::new_unchecked(bytes);
    sink((
        v.pcp(),
        v.dei(),
        v.vid(),
        v.ethertype(),
        v.payload(),
        v.into_payload(),
    ));
    sink(VlanRepr::parse(&v));

    let a = ArpPacket::new_unchecked(bytes);
    sink((
        a.hardware_type(),
        a.protocol_type(),
        a.hardware_len(),
        a.protocol_len(),
        a.operation(),
    ));
    sink((a.sender_hardware_addr(), a.sender_protocol_addr()));
    sink((a.target_hardware_addr(), a.target_protocol_addr()));
    sink(ArpRepr::parse(&a));

    let p = Ipv4Packet::new_unchecked(bytes);
    sink((
        p.version(),
        p.header_len(),
        p.dscp_ecn(),
        p.total_len(),
        p.ident(),
    ));
    sink((
        p.dont_frag(),
        p.more_frags(),
        p.frag_offset(),
        p.is_fragment(),
        p.ttl(),
        p.protocol(),
    ));
    sink((
        p.checksum(),
        p.src_addr(),
        p.dst_addr(),
        p.options(),
        p.payload(),
        p.verify_checksum(),
    ));
    sink(p.options_iter().take(64).collect::<Vec<_>>());
    sink((p.into_payload(), Ipv4Repr::parse(&p)));

    let p = Ipv6Packet::new_unchecked(bytes);
    sink((
        p.version(),
        p.traffic_class(),
        p.flow_label(),
        p.payload_len(),
        p.next_header(),
    ));
    sink((
        p.hop_limit(),
        p.src_addr(),
        p.dst_addr(),
        p.payload(),
        p.upper_layer(),
    ));
    sink((p.into_payload(), Ipv6Repr::parse(&p)));

    let i = Icmpv4Packet::new_unchecked(bytes);
    sink((
        i.msg_type(),
        i.code(),
        i.checksum(),
        i.echo_ident(),
        i.echo_seq_no(),
        i.next_hop_mtu(),
    ));
    sink((
        i.pointer(),
        i.gateway(),
        i.data(),
        i.is_error(),
        i.verify_checksum(),
        i.into_data(),
    ));
    sink(Icmpv4Repr::parse(&i));

    let i = Icmpv6Packet::new_unchecked(bytes);
    sink((
        i.msg_type(),
        i.code(),
        i.checksum(),
        i.is_error(),
        i.mtu(),
        i.pointer(),
    ));
    sink((
        i.echo_ident(),
        i.echo_seq_no(),
        i.data(),
        i.target_addr(),
        i.into_data(),
    ));
    sink((
        i.router_flag(),
        i.solicited_flag(),
        i.override_flag(),
        i.verify_checksum(&V6, &V6),
    ));
    sink(i.ndp_options().take(64).collect::<Vec<_>>());
    sink(Icmpv6Repr::parse(&V6, &V6, &i));
    sink(Icmpv6Repr::parse(
        &Ipv6Addr::UNSPECIFIED,
        &"ff02::1:ff00:1".parse().unwrap(),
        &i,
    ));

    let u = UdpPacket::new_unchecked(bytes);
    sink((
        u.src_port(),
        u.dst_port(),
        u.len(),
        u.is_empty(),
        u.checksum(),
        u.payload(),
    ));
    sink((
        u.verify_checksum_v4(V4, V4),
        u.verify_checksum_v6(&V6, &V6),
        u.into_payload(),
    ));
    sink(UdpRepr::parse(&u));

    let t = TcpPacket::new_unchecked(bytes);
    sink((
        t.src_port(),
        t.dst_port(),
        t.seq_number(),
        t.ack_number(),
        t.header_len(),
        t.flags(),
    ));
    sink((
        t.fin(),
        t.syn(),
        t.rst(),
        t.psh(),
        t.ack(),
        t.urg(),
        t.window_len(),
        t.checksum(),
    ));
    sink((t.urgent_at(), t.options(), t.payload(), t.into_payload()));
    sink((t.verify_checksum_v4(V4, V4), t.verify_checksum_v6(&V6, &V6)));

    for protocol in [
        IpProtocol::Tcp,
        IpProtocol::Udp,
        IpProtocol::Sctp,
        IpProtocol::Icmp,
    ] {
        sink(transport_ports(protocol, bytes));
    }
}

/// Calls every setter of every view on a copy of `bytes`.
fn write_everything(bytes: &[u8]) {
    let mut b = bytes.to_vec();
    let mut e = EthernetFrame::new_unchecked(&mut b[..]);
    e.set_dst_addr(MacAddr::BROADCAST);
    e.set_src_addr(MacAddr::BROADCAST);
    e.set_ethertype(EtherType::Ipv6);
    e.payload_mut().fill(1);

    let mut v = VlanTag::new_unchecked(&mut b[..]);
    v.set_pcp(9);
    v.set_dei(true);
    v.set_vid(0xffff);
    v.set_ethertype(EtherType::Arp);
    v.payload_mut().fill(2);

    let mut a = ArpPacket::new_unchecked(&mut b[..]);
    a.set_operation(ArpOperation::Reply);
    a.set_sender_hardware_addr(MacAddr::BROADCAST);
    a.set_target_protocol_addr(V4);

    let mut p = Ipv4Packet::new_unchecked(&mut b[..]);
    p.set_ttl(1);
    p.set_src_addr(V4);
    p.set_dst_addr(V4);
    p.set_total_len(u16::MAX);
    p.set_more_frags(true);
    p.set_frag_offset(u16::MAX);
    p.set_ident(7);
    p.set_dont_frag(true);
    p.set_header_len(60);
    p.fill_checksum();
    p.decrement_ttl();
    p.options_mut().fill(1);
    p.payload_mut().fill(3);

    let mut p = Ipv6Packet::new_unchecked(&mut b[..]);
    p.set_hop_limit(1);
    p.decrement_hop_limit();
    p.set_payload_len(u16::MAX);
    p.set_src_addr(V6);
    p.set_dst_addr(V6);
    p.payload_mut().fill(4);

    let mut i = Icmpv4Packet::new_unchecked(&mut b[..]);
    i.set_next_hop_mtu(1280);
    i.data_mut().fill(5);
    i.fill_checksum();

    let mut i = Icmpv6Packet::new_unchecked(&mut b[..]);
    i.set_mtu(1280);
    i.set_na_flags(true, true, true);
    i.set_target_addr(V6);
    i.data_mut().fill(6);
    i.fill_checksum(&V6, &V6);

    let mut u = UdpPacket::new_unchecked(&mut b[..]);
    u.set_len(u16::MAX);
    u.payload_mut().fill(7);
    u.fill_checksum_v4(V4, V4);
    u.fill_checksum_v6(&V6, &V6);

    let mut t = TcpPacket::new_unchecked(&mut b[..]);
    t.set_header_len(60);
    t.set_flags(TcpFlags(0xff));
    t.fill_checksum_v4(V4, V4);
    t.fill_checksum_v6(&V6, &V6);
    sink(b);
}

/// Every view's `new_checked`, and on success every accessor.
fn check_everything(bytes: &[u8]) {
    if EthernetFrame::new_checked(bytes).is_ok()
        | VlanTag::new_checked(bytes).is_ok()
        | ArpPacket::new_checked(bytes).is_ok()
        | Ipv4Packet::new_checked(bytes).is_ok()
        | Ipv6Packet::new_checked(bytes).is_ok()
        | Icmpv4Packet::new_checked(bytes).is_ok()
        | Icmpv6Packet::new_checked(bytes).is_ok()
        | UdpPacket::new_checked(bytes).is_ok()
        | TcpPacket::new_checked(bytes).is_ok()
    {
        read_everything(bytes);
    }
}

/// Bytes that often get past the first checks: a plausible first byte.
fn plausible_bytes() -> impl Strategy<Value = Vec<u8>> {
    (
        prop::sample::select(vec![0x45u8, 0x46, 0x4f, 0x60, 0x87, 0x88, 0x80, 0x00]),
        prop::collection::vec(any::<u8>(), 0..120),
    )
        .prop_map(|(first, mut rest)| {
            rest.insert(0, first);
            rest
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn arbitrary_bytes_through_new_checked_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        check_everything(&bytes);
    }

    #[test]
    fn plausible_bytes_through_new_checked_never_panic(bytes in plausible_bytes()) {
        check_everything(&bytes);
    }

    #[test]
    fn accessors_and_setters_on_unchecked_short_buffers_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        read_everything(&bytes);
        write_everything(&bytes);
    }
}

// ------------------------------------------------------------ round trips

fn mac() -> impl Strategy<Value = MacAddr> {
    any::<[u8; 6]>().prop_map(MacAddr)
}

fn ipv4_addr() -> impl Strategy<Value = Ipv4Addr> {
    any::<u32>().prop_map(Ipv4Addr::from)
}

fn ipv6_addr() -> impl Strategy<Value = Ipv6Addr> {
    any::<u128>().prop_map(Ipv6Addr::from)
}

fn unicast_ipv6() -> impl Strategy<Value = Ipv6Addr> {
    ipv6_addr().prop_filter("not multicast or unspecified", |a| {
        !a.is_multicast() && !a.is_unspecified()
    })
}

fn data() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..64)
}

proptest! {
    #[test]
    fn ethernet_repr_round_trips(src_addr in mac(), dst_addr in mac(), ethertype in any::<u16>()) {
        let repr = EthernetRepr { src_addr, dst_addr, ethertype: EtherType::from(ethertype) };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
        prop_assert_eq!(EthernetRepr::parse(&EthernetFrame::new_checked(&buf[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn vlan_repr_round_trips(pcp in 0u8..8, dei in any::<bool>(), vid in 0u16..4096, ethertype in any::<u16>()) {
        let repr = VlanRepr { pcp, dei, vid, ethertype: EtherType::from(ethertype) };
        let mut buf = vec![0xffu8; repr.buffer_len()];
        repr.emit(&mut VlanTag::new_unchecked(&mut buf[..]));
        prop_assert_eq!(VlanRepr::parse(&VlanTag::new_checked(&buf[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn arp_repr_round_trips(op in any::<u16>(), sha in mac(), spa in ipv4_addr(), tha in mac(), tpa in ipv4_addr()) {
        let repr = ArpRepr {
            operation: ArpOperation::from(op),
            sender_hardware_addr: sha,
            sender_protocol_addr: spa,
            target_hardware_addr: tha,
            target_protocol_addr: tpa,
        };
        let mut buf = vec![0xffu8; repr.buffer_len()];
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        prop_assert_eq!(ArpRepr::parse(&ArpPacket::new_checked(&buf[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn ipv4_repr_round_trips(
        src_addr in ipv4_addr(), dst_addr in ipv4_addr(), protocol in any::<u8>(), ttl in any::<u8>(),
        dscp_ecn in any::<u8>(), ident in any::<u16>(), dont_frag in any::<bool>(), payload_len in 0usize..=65515,
    ) {
        let repr = Ipv4Repr { src_addr, dst_addr, protocol: protocol.into(), ttl, dscp_ecn, ident, dont_frag, payload_len };
        let mut buf = vec![0xffu8; repr.total_len()];
        repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
        let packet = Ipv4Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(packet.verify_checksum());
        prop_assert_eq!(Ipv4Repr::parse(&packet), Ok(repr));
    }

    #[test]
    fn ipv6_repr_round_trips(
        src_addr in ipv6_addr(), dst_addr in ipv6_addr(), next_header in any::<u8>(), payload_len in any::<u16>(),
        hop_limit in any::<u8>(), traffic_class in any::<u8>(), flow_label in 0u32..(1 << 20),
    ) {
        let repr = Ipv6Repr { src_addr, dst_addr, next_header: next_header.into(), payload_len, hop_limit, traffic_class, flow_label };
        let mut buf = vec![0xffu8; ipv6::HEADER_LEN + usize::from(payload_len)];
        repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
        prop_assert_eq!(Ipv6Repr::parse(&Ipv6Packet::new_checked(&buf[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn udp_repr_round_trips(src_port in any::<u16>(), dst_port in any::<u16>(), payload_len in 0u16..=65527) {
        let repr = UdpRepr { src_port, dst_port, payload_len };
        let mut buf = vec![0xffu8; udp::HEADER_LEN + usize::from(payload_len)];
        repr.emit(&mut UdpPacket::new_unchecked(&mut buf[..]));
        prop_assert_eq!(UdpRepr::parse(&UdpPacket::new_checked(&buf[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn icmpv4_repr_round_trips(kind in 0u8..6, code in any::<u8>(), a in any::<u16>(), b in any::<u16>(), gateway in ipv4_addr(), data in data()) {
        let data = &data[..];
        let repr = match kind {
            0 => Icmpv4Repr::EchoRequest { ident: a, seq_no: b, data },
            1 => Icmpv4Repr::EchoReply { ident: a, seq_no: b, data },
            2 => Icmpv4Repr::DstUnreachable { code, next_hop_mtu: b, data },
            3 => Icmpv4Repr::TimeExceeded { code, data },
            4 => Icmpv4Repr::ParamProblem { code, pointer: a as u8, data },
            _ => Icmpv4Repr::Redirect { code, gateway, data },
        };
        let mut buf = vec![0xffu8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
        prop_assert_eq!(Icmpv4Repr::parse(&Icmpv4Packet::new_checked(&buf[..]).unwrap()), Ok(repr));
    }

    #[test]
    fn icmpv6_repr_round_trips(
        kind in 0u8..8, code in any::<u8>(), a in any::<u16>(), b in any::<u16>(), word in any::<u32>(),
        flags in any::<[bool; 3]>(), target in unicast_ipv6(), lladdr in prop::option::of(mac()),
        src in unicast_ipv6(), dst in unicast_ipv6(), data in data(),
    ) {
        let data = &data[..];
        let repr = match kind {
            0 => Icmpv6Repr::DstUnreachable { code, data },
            1 => Icmpv6Repr::PacketTooBig { mtu: word, data },
            2 => Icmpv6Repr::TimeExceeded { code, data },
            3 => Icmpv6Repr::ParamProblem { code, pointer: word, data },
            4 => Icmpv6Repr::EchoRequest { ident: a, seq_no: b, data },
            5 => Icmpv6Repr::EchoReply { ident: a, seq_no: b, data },
            6 => Icmpv6Repr::NeighborSolicit(NdpNeighborSolicit { target, source_lladdr: lladdr }),
            _ => Icmpv6Repr::NeighborAdvert(NdpNeighborAdvert {
                router: flags[0], solicited: flags[1], override_: flags[2], target, target_lladdr: lladdr,
            }),
        };
        let mut buf = vec![0xffu8; repr.buffer_len()];
        repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut buf[..]));
        let packet = Icmpv6Packet::new_checked(&buf[..]).unwrap();
        prop_assert!(packet.verify_checksum(&src, &dst));
        prop_assert_eq!(Icmpv6Repr::parse(&src, &dst, &packet), Ok(repr));
    }
}

// ------------------------------------------------------------ truncation

/// What a frame turned out to be, all the way down.
#[derive(Debug, PartialEq)]
enum Parsed {
    Arp(ArpRepr),
    Icmpv4,
    Icmpv6,
    Udp(u16, u16),
    Tcp(u16, u16),
    Other,
}

/// Ethernet → up to two VLAN tags → ARP / IPv4 / IPv6 (+ extension
/// headers) → ICMPv4 / ICMPv6 / UDP / TCP, validating each layer's
/// checksum. Mirrors the `ethernet_walk` fuzz target.
fn parse_frame(bytes: &[u8]) -> Result<Parsed, ParseError> {
    let frame = EthernetFrame::new_checked(bytes)?;
    let mut ethertype = EthernetRepr::parse(&frame)?.ethertype;
    let mut payload = frame.into_payload();
    for _ in 0..2 {
        if !matches!(ethertype, EtherType::Vlan | EtherType::QinQ) {
            break;
        }
        let tag = VlanTag::new_checked(payload)?;
        ethertype = VlanRepr::parse(&tag)?.ethertype;
        payload = tag.into_payload();
    }
    match ethertype {
        EtherType::Arp => Ok(Parsed::Arp(ArpRepr::parse(&ArpPacket::new_checked(
            payload,
        )?)?)),
        EtherType::Ipv4 => {
            let packet = Ipv4Packet::new_checked(payload)?;
            let ip = Ipv4Repr::parse(&packet)?;
            let l4 = packet.into_payload();
            match ip.protocol {
                IpProtocol::Icmp => {
                    Icmpv4Repr::parse(&Icmpv4Packet::new_checked(l4)?).map(|_| Parsed::Icmpv4)
                }
                IpProtocol::Udp => {
                    let udp = UdpPacket::new_checked(l4)?;
                    if !udp.verify_checksum_v4(ip.src_addr, ip.dst_addr) {
                        return Err(ParseError::BadChecksum);
                    }
                    Ok(Parsed::Udp(udp.src_port(), udp.dst_port()))
                }
                IpProtocol::Tcp => {
                    let tcp = TcpPacket::new_checked(l4)?;
                    if !tcp.verify_checksum_v4(ip.src_addr, ip.dst_addr) {
                        return Err(ParseError::BadChecksum);
                    }
                    Ok(Parsed::Tcp(tcp.src_port(), tcp.dst_port()))
                }
                _ => Ok(Parsed::Other),
            }
        }
        EtherType::Ipv6 => {
            let packet = Ipv6Packet::new_checked(payload)?;
            let ip = Ipv6Repr::parse(&packet)?;
            let upper = packet.upper_layer()?;
            if !upper.has_header() {
                return Ok(Parsed::Other);
            }
            let end = ipv6::HEADER_LEN + usize::from(ip.payload_len);
            let l4 = packet
                .into_inner()
                .get(upper.offset..end)
                .ok_or(ParseError::Truncated)?;
            match upper.protocol {
                IpProtocol::Icmpv6 => {
                    Icmpv6Repr::parse(&ip.src_addr, &ip.dst_addr, &Icmpv6Packet::new_checked(l4)?)
                        .map(|_| Parsed::Icmpv6)
                }
                IpProtocol::Udp => {
                    let udp = UdpPacket::new_checked(l4)?;
                    if !udp.verify_checksum_v6(&ip.src_addr, &ip.dst_addr) {
                        return Err(ParseError::BadChecksum);
                    }
                    Ok(Parsed::Udp(udp.src_port(), udp.dst_port()))
                }
                _ => Ok(Parsed::Other),
            }
        }
        _ => Ok(Parsed::Other),
    }
}

const MAC_A: MacAddr = MacAddr([2, 0, 0, 0, 0, 1]);
const MAC_B: MacAddr = MacAddr([2, 0, 0, 0, 0, 2]);

/// Ethernet header, optional VLAN tag, then `ethertype` and `body`.
fn ethernet(vlan: Option<u16>, ethertype: EtherType, body: &[u8]) -> Vec<u8> {
    let tag_len = if vlan.is_some() { vlan::HEADER_LEN } else { 0 };
    let mut buf = vec![0u8; ethernet::HEADER_LEN + tag_len + body.len()];
    let outer = if vlan.is_some() {
        EtherType::Vlan
    } else {
        ethertype
    };
    EthernetRepr {
        src_addr: MAC_A,
        dst_addr: MAC_B,
        ethertype: outer,
    }
    .emit(&mut EthernetFrame::new_unchecked(&mut buf[..]));
    if let Some(vid) = vlan {
        VlanRepr {
            pcp: 0,
            dei: false,
            vid,
            ethertype,
        }
        .emit(&mut VlanTag::new_unchecked(
            &mut buf[ethernet::HEADER_LEN..],
        ));
    }
    buf[ethernet::HEADER_LEN + tag_len..].copy_from_slice(body);
    buf
}

fn ipv4(protocol: IpProtocol, l4: &[u8]) -> Vec<u8> {
    let repr = Ipv4Repr {
        src_addr: V4,
        dst_addr: Ipv4Addr::new(198, 51, 100, 9),
        protocol,
        ttl: 64,
        dscp_ecn: 0,
        ident: 1,
        dont_frag: true,
        payload_len: l4.len(),
    };
    let mut buf = vec![0u8; repr.total_len()];
    repr.emit(&mut Ipv4Packet::new_unchecked(&mut buf[..]));
    buf[ipv4::HEADER_LEN..].copy_from_slice(l4);
    buf
}

fn ipv6(next_header: IpProtocol, payload: &[u8]) -> Vec<u8> {
    let repr = Ipv6Repr {
        src_addr: V6,
        dst_addr: "2001:db8::2".parse().unwrap(),
        next_header,
        payload_len: payload.len() as u16,
        hop_limit: 64,
        traffic_class: 0,
        flow_label: 0,
    };
    let mut buf = vec![0u8; ipv6::HEADER_LEN + payload.len()];
    repr.emit(&mut Ipv6Packet::new_unchecked(&mut buf[..]));
    buf[ipv6::HEADER_LEN..].copy_from_slice(payload);
    buf
}

fn udp_v4(payload: &[u8]) -> Vec<u8> {
    let repr = UdpRepr {
        src_port: 3784,
        dst_port: 3784,
        payload_len: payload.len() as u16,
    };
    let mut buf = vec![0u8; udp::HEADER_LEN + payload.len()];
    let mut view = UdpPacket::new_unchecked(&mut buf[..]);
    repr.emit(&mut view);
    view.payload_mut().copy_from_slice(payload);
    view.fill_checksum_v4(V4, Ipv4Addr::new(198, 51, 100, 9));
    buf
}

/// A set of valid frames, one per type the stack walk reaches.
fn valid_frames() -> Vec<(&'static str, Vec<u8>)> {
    let arp = {
        let repr = ArpRepr {
            operation: ArpOperation::Request,
            sender_hardware_addr: MAC_A,
            sender_protocol_addr: V4,
            target_hardware_addr: MacAddr::ZERO,
            target_protocol_addr: Ipv4Addr::new(192, 0, 2, 254),
        };
        let mut buf = vec![0u8; arp::PACKET_LEN];
        repr.emit(&mut ArpPacket::new_unchecked(&mut buf[..]));
        buf
    };
    let icmpv4 = {
        let repr = Icmpv4Repr::EchoRequest {
            ident: 1,
            seq_no: 2,
            data: &[0, 0, 0, 0],
        };
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Icmpv4Packet::new_unchecked(&mut buf[..]));
        buf
    };
    let tcp = {
        let mut buf = vec![0u8; 24];
        let mut t = TcpPacket::new_unchecked(&mut buf[..]);
        t.set_src_port(179);
        t.set_dst_port(40000);
        t.set_header_len(24);
        t.set_flags(TcpFlags(TcpFlags::SYN | TcpFlags::ACK));
        t.fill_checksum_v4(V4, Ipv4Addr::new(198, 51, 100, 9));
        buf
    };
    let ns = {
        let src = V6;
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let repr = Icmpv6Repr::NeighborSolicit(NdpNeighborSolicit {
            target: dst,
            source_lladdr: Some(MAC_A),
        });
        let mut buf = vec![0u8; repr.buffer_len()];
        repr.emit(&src, &dst, &mut Icmpv6Packet::new_unchecked(&mut buf[..]));
        buf
    };
    let udp_v6 = {
        let src = V6;
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        // Destination Options (8 bytes of PadN) then UDP.
        let mut body = vec![17, 0, 1, 4, 0, 0, 0, 0];
        let mut udp = vec![0u8; 12];
        let mut view = UdpPacket::new_unchecked(&mut udp[..]);
        UdpRepr {
            src_port: 49152,
            dst_port: 4784,
            payload_len: 4,
        }
        .emit(&mut view);
        view.payload_mut().copy_from_slice(&[0, 0, 0, 0]);
        view.fill_checksum_v6(&src, &dst);
        body.extend_from_slice(&udp);
        body
    };
    vec![
        ("arp", ethernet(None, EtherType::Arp, &arp)),
        ("vlan arp", ethernet(Some(42), EtherType::Arp, &arp)),
        (
            "ipv4 icmp",
            ethernet(None, EtherType::Ipv4, &ipv4(IpProtocol::Icmp, &icmpv4)),
        ),
        (
            "ipv4 udp",
            ethernet(
                None,
                EtherType::Ipv4,
                &ipv4(IpProtocol::Udp, &udp_v4(&[0, 0, 0, 0])),
            ),
        ),
        (
            "vlan ipv4 tcp",
            ethernet(Some(7), EtherType::Ipv4, &ipv4(IpProtocol::Tcp, &tcp)),
        ),
        (
            "ipv6 ns",
            ethernet(None, EtherType::Ipv6, &ipv6(IpProtocol::Icmpv6, &ns)),
        ),
        (
            "ipv6 destopts udp",
            ethernet(None, EtherType::Ipv6, &ipv6(IpProtocol::Ipv6Opts, &udp_v6)),
        ),
    ]
}

#[test]
fn every_strict_prefix_of_a_valid_frame_is_an_error() {
    // Payloads end in zero bytes on purpose: a truncation that only drops
    // zeros leaves every checksum valid, so only the length checks can
    // catch it.
    for (name, frame) in valid_frames() {
        let parsed = parse_frame(&frame);
        assert!(
            parsed.is_ok() && parsed != Ok(Parsed::Other),
            "{name}: {parsed:?}"
        );
        for cut in 0..frame.len() {
            assert!(
                parse_frame(&frame[..cut]).is_err(),
                "{name} cut at {cut} parsed"
            );
        }
    }
}

#[test]
fn valid_frames_parse_to_what_was_built() {
    let parsed: Vec<_> = valid_frames()
        .into_iter()
        .map(|(_, f)| parse_frame(&f).unwrap())
        .collect();
    assert!(matches!(
        parsed[0],
        Parsed::Arp(ArpRepr {
            operation: ArpOperation::Request,
            ..
        })
    ));
    assert_eq!(parsed[2], Parsed::Icmpv4);
    assert_eq!(parsed[3], Parsed::Udp(3784, 3784));
    assert_eq!(parsed[4], Parsed::Tcp(179, 40000));
    assert_eq!(parsed[5], Parsed::Icmpv6);
    assert_eq!(parsed[6], Parsed::Udp(49152, 4784));
}

proptest! {
    /// Each view's minimum length: a buffer one byte short of it is refused.
    #[test]
    fn each_view_refuses_a_prefix_of_a_valid_buffer(index in 0usize..7, cut_seed in any::<usize>()) {
        let (_, frame) = &valid_frames()[index];
        let cut = cut_seed % frame.len();
        prop_assert!(parse_frame(&frame[..cut]).is_err());
    }

    /// Flipping any single bit of a valid frame never panics the walk.
    #[test]
    fn bit_flips_never_panic(index in 0usize..7, bit in any::<usize>()) {
        let (_, mut frame) = valid_frames()[index].clone();
        let bit = bit % (frame.len() * 8);
        frame[bit / 8] ^= 1 << (bit % 8);
        sink(parse_frame(&frame));
    }
}
