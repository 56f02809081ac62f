//! The sockets that carry reachability probes for tracked static routes:
//! ICMP echo (RFC 792, RFC 4443 §4), ARP (RFC 826) and IPv6 Neighbor
//! Discovery (RFC 4861). Each is non-blocking, bound to one device — the
//! port's TAP twin, so the probe leaves through that port and only answers
//! arriving on it count — and registers with the control-plane event loop
//! as a `mio` source.
//!
//! Every socket answers one question: "did the target answer probe
//! `seq`?". [`ProbeSocket::send`] sends probe `seq`; after each readiness
//! event, [`ProbeSocket::recv`] is called until it returns `Ok(None)` (the
//! loop is edge-triggered) and yields the `seq` of every matching answer.
//! Anything else that reaches the socket — another host's answer, another
//! probe's echo identifier, a request instead of a reply — is read and
//! dropped here. Whether an answer is on time is the tracker's business
//! (`controlplane::tracking::probe`).
//!
//! ARP replies and Neighbor Advertisements carry no sequence number, so
//! those sockets credit a matching answer to the last probe they sent. An
//! answer to the kernel's own resolution of the same address counts too:
//! either way the target has just shown it is there.
//!
//! `socket2` covers most of this safely; what it lacks — the `AF_PACKET`
//! address, the ICMP type filters, `IPV6_RECVPKTINFO` and `recvmsg` with
//! its control messages — is done through `libc` here, the one file of the
//! crate allowed `unsafe`, each block with its `SAFETY` argument.

#![allow(unsafe_code)]

use std::io::{self, Read};
use std::mem::{self, MaybeUninit};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, RawFd};

use dataplane::packet::{
    ArpOperation, ArpPacket, ArpRepr, EtherType, EthernetFrame, EthernetRepr, Icmpv4Packet,
    Icmpv4Repr, Icmpv6Packet, Icmpv6Repr, IpProtocol, Ipv4Packet, MacAddr, NdpNeighborSolicit,
};
use mio::event::Source;
use mio::unix::SourceFd;
use mio::{Interest, Registry, Token};
use socket2::{Domain, Protocol, SockAddr, SockAddrStorage, Socket, Type};

use super::{HostError, LinkInfo, Netlink};

/// The data of our echo requests: enough to recognise them in a capture.
const ECHO_PAYLOAD: &[u8; 16] = b"vrouter probe\0\0\0";
/// Big enough for any answer we accept (an Ethernet MTU's worth); longer
/// datagrams are cut, and none of ours is that long.
const RECEIVE_BUFFER: usize = 2048;
/// Ethernet's minimum frame (without FCS): short frames are padded, as
/// NICs do, since a TAP twin does not.
const MIN_FRAME_LEN: usize = 60;

/// `ICMP_FILTER` on a raw IPv4 ICMP socket (linux/icmp.h): a mask of the
/// types (below 32) the kernel must not deliver.
const ICMP_FILTER: libc::c_int = 1;
/// `ICMP6_FILTER` (linux/icmpv6.h): `struct icmp6_filter`, one bit per
/// type, set = blocked.
const ICMP6_FILTER: libc::c_int = 1;
const ICMPV4_ECHO_REPLY: u8 = 0;
const ICMPV6_ECHO_REPLY: u8 = 129;
const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;
/// RFC 4861 §7.1.2: an NA that has crossed a router (hop limit below 255)
/// is not from the link and must be dropped.
const ND_HOP_LIMIT: u8 = 255;

/// A probe socket of any kind.
#[derive(Debug)]
pub enum ProbeSocket {
    Echo(EchoProbe),
    Arp(ArpProbe),
    Nd(NdProbe),
}

impl ProbeSocket {
    /// Sends probe `seq`. A send the kernel refuses (link down, no route)
    /// is an error here and, for the tracker, simply a probe that gets no
    /// answer.
    pub fn send(&mut self, seq: u16) -> Result<(), HostError> {
        match self {
            ProbeSocket::Echo(probe) => probe.send(seq),
            ProbeSocket::Arp(probe) => probe.send(seq),
            ProbeSocket::Nd(probe) => probe.send(seq),
        }
    }

    /// The next matching answer's `seq`; `Ok(None)` once nothing is queued.
    pub fn recv(&mut self) -> Result<Option<u16>, HostError> {
        match self {
            ProbeSocket::Echo(probe) => probe.recv(),
            ProbeSocket::Arp(probe) => probe.recv(),
            ProbeSocket::Nd(probe) => probe.recv(),
        }
    }

    fn socket(&self) -> &Socket {
        match self {
            ProbeSocket::Echo(probe) => &probe.socket,
            ProbeSocket::Arp(probe) => &probe.socket,
            ProbeSocket::Nd(probe) => &probe.socket,
        }
    }
}

/// ICMP or ICMPv6 echo to `target`, answers matched on source address,
/// identifier and (by the tracker) sequence number.
#[derive(Debug)]
pub struct EchoProbe {
    socket: Socket,
    device: String,
    ifindex: u32,
    target: IpAddr,
    ident: u16,
    buffer: Vec<u8>,
}

impl EchoProbe {
    /// A raw ICMP (or ICMPv6, for an IPv6 target) socket on `device`.
    /// `ident` is the echo identifier, one per probe: replies carrying
    /// another are someone else's. `source`, when given, is the address
    /// the requests come from (one of `device`'s); otherwise the kernel
    /// picks one.
    pub fn open(
        device: &str,
        source: Option<IpAddr>,
        target: IpAddr,
        ident: u16,
    ) -> Result<Self, HostError> {
        let link = device_link(device)?;
        let op = "open ICMP echo probe socket";
        let socket = match target {
            IpAddr::V4(_) => {
                let socket = device_socket(Domain::IPV4, Type::RAW, Protocol::ICMPV4, device, op)?;
                // Only echo replies wake us up, not every ICMP message
                // the host receives on the port.
                let blocked: u32 = !(1u32 << ICMPV4_ECHO_REPLY);
                set_option(&socket, libc::SOL_RAW, ICMP_FILTER, &blocked)
                    .map_err(|e| HostError::io(op, device, e))?;
                socket
            }
            IpAddr::V6(_) => {
                let socket = device_socket(Domain::IPV6, Type::RAW, Protocol::ICMPV6, device, op)?;
                icmpv6_receive_options(&socket, ICMPV6_ECHO_REPLY)
                    .map_err(|e| HostError::io(op, device, e))?;
                socket
            }
        };
        if let Some(source) = source {
            bind_source(&socket, source, link.ifindex).map_err(|e| HostError::io(op, device, e))?;
        }
        Ok(EchoProbe {
            socket,
            device: device.to_string(),
            ifindex: link.ifindex,
            target,
            ident,
            buffer: vec![0; RECEIVE_BUFFER],
        })
    }

    pub fn send(&mut self, seq: u16) -> Result<(), HostError> {
        let mut message = [0u8; 8 + ECHO_PAYLOAD.len()];
        let address = match self.target {
            IpAddr::V4(target) => {
                Icmpv4Repr::EchoRequest {
                    ident: self.ident,
                    seq_no: seq,
                    data: ECHO_PAYLOAD,
                }
                .emit(&mut Icmpv4Packet::new_unchecked(&mut message[..]));
                SockAddr::from(SocketAddrV4::new(target, 0))
            }
            IpAddr::V6(target) => {
                // The kernel fills in the ICMPv6 checksum of a raw socket's
                // messages itself (RFC 3542 §3.1), over the source it picks.
                Icmpv6Repr::EchoRequest {
                    ident: self.ident,
                    seq_no: seq,
                    data: ECHO_PAYLOAD,
                }
                .emit(
                    &Ipv6Addr::UNSPECIFIED,
                    &target,
                    &mut Icmpv6Packet::new_unchecked(&mut message[..]),
                );
                SockAddr::from(SocketAddrV6::new(
                    target,
                    0,
                    0,
                    scope_of(target, self.ifindex),
                ))
            }
        };
        self.socket
            .send_to(&message, &address)
            .map(drop)
            .map_err(|e| HostError::io("send ICMP echo probe", &self.device, e))
    }

    pub fn recv(&mut self) -> Result<Option<u16>, HostError> {
        loop {
            let seq = match self.target {
                IpAddr::V4(target) => {
                    let Some(len) = read_datagram(&self.socket, &mut self.buffer, &self.device)?
                    else {
                        return Ok(None);
                    };
                    echo_reply_v4(self.buffer.get(..len).unwrap_or(&[]), target, self.ident)
                }
                IpAddr::V6(target) => {
                    let Some(received) = receive_icmpv6(&self.socket, &mut self.buffer)
                        .map_err(|e| HostError::io("receive probe reply", &self.device, e))?
                    else {
                        return Ok(None);
                    };
                    echo_reply_v6(&self.buffer, &received, target, self.ident)
                }
            };
            if seq.is_some() {
                return Ok(seq);
            }
        }
    }
}

/// The sequence number of an IPv4 datagram (IP header on, as raw sockets
/// deliver it) if it is our echo reply from `target`.
fn echo_reply_v4(datagram: &[u8], target: Ipv4Addr, ident: u16) -> Option<u16> {
    let ip = Ipv4Packet::new_checked(datagram).ok()?;
    if ip.src_addr() != target || ip.protocol() != IpProtocol::Icmp || ip.is_fragment() {
        return None;
    }
    let icmp = Icmpv4Packet::new_checked(ip.payload()).ok()?;
    match Icmpv4Repr::parse(&icmp).ok()? {
        Icmpv4Repr::EchoReply {
            ident: got, seq_no, ..
        } if got == ident => Some(seq_no),
        _ => None,
    }
}

/// The sequence number of an ICMPv6 message if it is our echo reply from
/// `target`. The checksum is checked against the destination the kernel
/// reported.
fn echo_reply_v6(
    buffer: &[u8],
    received: &ReceivedIcmpv6,
    target: Ipv6Addr,
    ident: u16,
) -> Option<u16> {
    let destination = received.destination?;
    if received.source != target {
        return None;
    }
    let message = buffer.get(..received.len)?;
    let icmp = Icmpv6Packet::new_checked(message).ok()?;
    match Icmpv6Repr::parse(&received.source, &destination, &icmp).ok()? {
        Icmpv6Repr::EchoReply {
            ident: got, seq_no, ..
        } if got == ident => Some(seq_no),
        _ => None,
    }
}

/// ARP request for `target` from our address on the device, over an
/// `AF_PACKET` socket; a reply from `target` to us is the answer.
#[derive(Debug)]
pub struct ArpProbe {
    socket: Socket,
    device: String,
    mac: MacAddr,
    source: Ipv4Addr,
    target: Ipv4Addr,
    last_sent: Option<u16>,
    buffer: Vec<u8>,
}

impl ArpProbe {
    /// `source` is our IPv4 address on `device`: the sender of the
    /// requests (RFC 826), and the address replies must be for.
    pub fn open(device: &str, source: Ipv4Addr, target: Ipv4Addr) -> Result<Self, HostError> {
        let link = device_link(device)?;
        let op = "open ARP probe socket";
        let ethertype = u16::from(EtherType::Arp);
        let socket = Socket::new(
            Domain::PACKET,
            Type::RAW,
            Some(Protocol::from(i32::from(ethertype.to_be()))),
        )
        .map_err(|e| HostError::io(op, device, e))?;
        // Binding to the device's index both picks where requests go and
        // limits what is received to that device's ARP frames.
        let address =
            packet_address(link.ifindex, ethertype).map_err(|e| HostError::io(op, device, e))?;
        socket
            .bind(&address)
            .map_err(|e| HostError::io(op, device, e))?;
        socket
            .set_nonblocking(true)
            .map_err(|e| HostError::io(op, device, e))?;
        Ok(ArpProbe {
            socket,
            device: device.to_string(),
            mac: link.mac,
            source,
            target,
            last_sent: None,
            buffer: vec![0; RECEIVE_BUFFER],
        })
    }

    pub fn send(&mut self, seq: u16) -> Result<(), HostError> {
        let mut frame = [0u8; MIN_FRAME_LEN];
        let ethernet = EthernetRepr {
            src_addr: self.mac,
            dst_addr: MacAddr::BROADCAST,
            ethertype: EtherType::Arp,
        };
        let arp = ArpRepr {
            operation: ArpOperation::Request,
            sender_hardware_addr: self.mac,
            sender_protocol_addr: self.source,
            target_hardware_addr: MacAddr::ZERO,
            target_protocol_addr: self.target,
        };
        let mut view = EthernetFrame::new_unchecked(&mut frame[..]);
        ethernet.emit(&mut view);
        arp.emit(&mut ArpPacket::new_unchecked(view.payload_mut()));
        self.last_sent = Some(seq);
        // Bound to (device, ARP): no destination address needed.
        self.socket
            .send(&frame)
            .map(drop)
            .map_err(|e| HostError::io("send ARP probe", &self.device, e))
    }

    pub fn recv(&mut self) -> Result<Option<u16>, HostError> {
        while let Some(len) = read_datagram(&self.socket, &mut self.buffer, &self.device)? {
            let frame = self.buffer.get(..len).unwrap_or(&[]);
            if arp_reply_from(frame, self.target, self.source)
                && let Some(seq) = self.last_sent
            {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }
}

/// Whether an Ethernet frame is an ARP reply from `target` to `source`.
fn arp_reply_from(frame: &[u8], target: Ipv4Addr, source: Ipv4Addr) -> bool {
    let Ok(ethernet) = EthernetFrame::new_checked(frame) else {
        return false;
    };
    if ethernet.ethertype() != EtherType::Arp {
        return false;
    }
    let Ok(packet) = ArpPacket::new_checked(ethernet.payload()) else {
        return false;
    };
    let Ok(arp) = ArpRepr::parse(&packet) else {
        return false;
    };
    arp.operation == ArpOperation::Reply
        && arp.sender_protocol_addr == target
        && arp.target_protocol_addr == source
}

/// Neighbor Solicitation for `target`, answered by a solicited Neighbor
/// Advertisement for it.
///
/// The solicitation goes to the target's solicited-node multicast address
/// (RFC 4861 §7.2.2, as for address resolution) rather than unicast
/// (§7.3.1, reachability confirmation). Unicast needs the target's
/// link-layer address, which only the kernel's neighbor cache has: through
/// a raw socket the kernel would first resolve the address itself, or use
/// a stale cached MAC, so the probe would test the kernel's cache as much
/// as the target. The multicast form asks whoever holds the address now —
/// after a gateway failover too — and needs no state here.
#[derive(Debug)]
pub struct NdProbe {
    socket: Socket,
    device: String,
    ifindex: u32,
    mac: MacAddr,
    source: Ipv6Addr,
    target: Ipv6Addr,
    last_sent: Option<u16>,
    buffer: Vec<u8>,
}

impl NdProbe {
    /// `source` is our IPv6 address on `device` (global or link-local):
    /// the solicitation's source, so the advertisement comes back to it.
    pub fn open(device: &str, source: Ipv6Addr, target: Ipv6Addr) -> Result<Self, HostError> {
        let link = device_link(device)?;
        let op = "open neighbor discovery probe socket";
        let socket = device_socket(Domain::IPV6, Type::RAW, Protocol::ICMPV6, device, op)?;
        let configure = || -> io::Result<()> {
            icmpv6_receive_options(&socket, ICMPV6_NEIGHBOR_ADVERT)?;
            socket.set_recv_hoplimit_v6(true)?;
            // RFC 4861 §7.1.1: ND messages are sent with hop limit 255, so
            // receivers can tell they come from the link.
            socket.set_multicast_hops_v6(u32::from(ND_HOP_LIMIT))?;
            socket.set_unicast_hops_v6(u32::from(ND_HOP_LIMIT))?;
            socket.set_multicast_if_v6(link.ifindex)?;
            bind_source(&socket, IpAddr::V6(source), link.ifindex)
        };
        configure().map_err(|e| HostError::io(op, device, e))?;
        Ok(NdProbe {
            socket,
            device: device.to_string(),
            ifindex: link.ifindex,
            mac: link.mac,
            source,
            target,
            last_sent: None,
            buffer: vec![0; RECEIVE_BUFFER],
        })
    }

    pub fn send(&mut self, seq: u16) -> Result<(), HostError> {
        let destination = solicited_node(self.target);
        let solicit = Icmpv6Repr::NeighborSolicit(NdpNeighborSolicit {
            target: self.target,
            // §4.3: required in multicast solicitations.
            source_lladdr: Some(self.mac),
        });
        let mut message = vec![0u8; solicit.buffer_len()];
        solicit.emit(
            &self.source,
            &destination,
            &mut Icmpv6Packet::new_unchecked(&mut message[..]),
        );
        self.last_sent = Some(seq);
        let address = SockAddr::from(SocketAddrV6::new(destination, 0, 0, self.ifindex));
        self.socket
            .send_to(&message, &address)
            .map(drop)
            .map_err(|e| HostError::io("send neighbor solicitation probe", &self.device, e))
    }

    pub fn recv(&mut self) -> Result<Option<u16>, HostError> {
        while let Some(received) = receive_icmpv6(&self.socket, &mut self.buffer)
            .map_err(|e| HostError::io("receive probe reply", &self.device, e))?
        {
            if advert_for(&self.buffer, &received, self.target)
                && let Some(seq) = self.last_sent
            {
                return Ok(Some(seq));
            }
        }
        Ok(None)
    }
}

/// Whether a received ICMPv6 message is a valid (RFC 4861 §7.1.2)
/// solicited Neighbor Advertisement for `target`.
fn advert_for(buffer: &[u8], received: &ReceivedIcmpv6, target: Ipv6Addr) -> bool {
    let (Some(destination), Some(ND_HOP_LIMIT)) = (received.destination, received.hop_limit) else {
        return false;
    };
    let Some(message) = buffer.get(..received.len) else {
        return false;
    };
    let Ok(icmp) = Icmpv6Packet::new_checked(message) else {
        return false;
    };
    matches!(
        Icmpv6Repr::parse(&received.source, &destination, &icmp),
        Ok(Icmpv6Repr::NeighborAdvert(advert)) if advert.target == target && advert.solicited
    )
}

/// `ff02::1:ffXX:XXXX` with the low 24 bits of `target` (RFC 4291 §2.7.1).
fn solicited_node(target: Ipv6Addr) -> Ipv6Addr {
    let [.., a, b, c] = target.octets();
    Ipv6Addr::from([0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0xff, a, b, c])
}

/// Link-local addresses need the interface as their scope.
fn scope_of(address: Ipv6Addr, ifindex: u32) -> u32 {
    if address.is_unicast_link_local() || address.is_multicast() {
        ifindex
    } else {
        0
    }
}

/// The device, or a clear error if it does not exist.
fn device_link(device: &str) -> Result<LinkInfo, HostError> {
    Netlink::open()?.link_info(device)
}

/// A non-blocking socket bound to `device` (`SO_BINDTODEVICE`): it sends
/// through the device only and receives only what arrived on it.
fn device_socket(
    domain: Domain,
    kind: Type,
    protocol: Protocol,
    device: &str,
    op: &'static str,
) -> Result<Socket, HostError> {
    let socket =
        Socket::new(domain, kind, Some(protocol)).map_err(|e| HostError::io(op, device, e))?;
    socket
        .bind_device(Some(device.as_bytes()))
        .map_err(|e| HostError::io(op, device, e))?;
    socket
        .set_nonblocking(true)
        .map_err(|e| HostError::io(op, device, e))?;
    Ok(socket)
}

fn bind_source(socket: &Socket, source: IpAddr, ifindex: u32) -> io::Result<()> {
    let address = match source {
        IpAddr::V4(v4) => SockAddr::from(SocketAddrV4::new(v4, 0)),
        IpAddr::V6(v6) => SockAddr::from(SocketAddrV6::new(v6, 0, 0, scope_of(v6, ifindex))),
    };
    socket.bind(&address)
}

/// Lets only ICMPv6 type `accepted` through, and asks for each message's
/// destination address (needed for its checksum).
fn icmpv6_receive_options(socket: &Socket, accepted: u8) -> io::Result<()> {
    let mut blocked = [u32::MAX; 8];
    let accepted = usize::from(accepted);
    if let Some(word) = blocked.get_mut(accepted >> 5) {
        *word &= !(1u32 << (accepted & 31));
    }
    set_option(socket, libc::IPPROTO_ICMPV6, ICMP6_FILTER, &blocked)?;
    let on: libc::c_int = 1;
    set_option(socket, libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, &on)
}

/// `setsockopt` for the options `socket2` has no method for. `T` is a
/// plain C value (an int, a bit mask array).
fn set_option<T: Copy>(
    socket: &Socket,
    level: libc::c_int,
    name: libc::c_int,
    value: &T,
) -> io::Result<()> {
    let len = libc::socklen_t::try_from(mem::size_of::<T>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    // SAFETY: `value` is a live, initialised `T` of exactly `len` bytes for
    // the duration of the call; the kernel only reads (copies) it.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            level,
            name,
            (value as *const T).cast::<libc::c_void>(),
            len,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The `sockaddr_ll` naming `ifindex` and an ethertype, for binding an
/// `AF_PACKET` socket.
fn packet_address(ifindex: u32, ethertype: u16) -> io::Result<SockAddr> {
    let ifindex =
        i32::try_from(ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let family = u16::try_from(libc::AF_PACKET).unwrap_or_default();
    let len = libc::socklen_t::try_from(mem::size_of::<libc::sockaddr_ll>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let mut storage = SockAddrStorage::zeroed();
    // SAFETY: `sockaddr_ll` is one of this platform's `sockaddr_*` types
    // and is smaller than `sockaddr_storage`; the storage is zeroed, a
    // valid `sockaddr_ll`, and only plain integer fields are written.
    let link = unsafe { storage.view_as::<libc::sockaddr_ll>() };
    link.sll_family = family;
    link.sll_protocol = ethertype.to_be();
    link.sll_ifindex = ifindex;
    // SAFETY: the first `len` bytes of `storage` are the `sockaddr_ll`
    // initialised above.
    Ok(unsafe { SockAddr::new(storage, len) })
}

/// Reads one datagram; `None` when nothing is queued.
fn read_datagram(
    socket: &Socket,
    buffer: &mut [u8],
    device: &str,
) -> Result<Option<usize>, HostError> {
    loop {
        let mut reader = socket;
        match reader.read(buffer) {
            Ok(len) => return Ok(Some(len)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(None),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(HostError::io("receive probe reply", device, e)),
        }
    }
}

/// One ICMPv6 message as a raw socket received it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ReceivedIcmpv6 {
    /// Bytes of the message in the buffer (cut to the buffer).
    len: usize,
    source: Ipv6Addr,
    /// From `IPV6_PKTINFO`.
    destination: Option<Ipv6Addr>,
    /// From `IPV6_HOPLIMIT`, when asked for.
    hop_limit: Option<u8>,
}

/// `recvmsg` on a raw ICMPv6 socket: the message (a raw ICMPv6 socket
/// delivers no IPv6 header), its source, and what the control messages say
/// of its destination and hop limit. `None` when nothing is queued.
fn receive_icmpv6(socket: &Socket, buffer: &mut [u8]) -> io::Result<Option<ReceivedIcmpv6>> {
    // u64s keep the control buffer aligned for `cmsghdr`.
    let mut control = [0u64; 32];
    let mut source = MaybeUninit::<libc::sockaddr_in6>::zeroed();
    let mut iov = libc::iovec {
        iov_base: buffer.as_mut_ptr().cast(),
        iov_len: buffer.len(),
    };
    // SAFETY: all-zero is a valid `msghdr` (null pointers, zero lengths);
    // the pointers set below stay valid until `recvmsg` returns.
    let mut header: libc::msghdr = unsafe { mem::zeroed() };
    header.msg_name = source.as_mut_ptr().cast();
    header.msg_namelen = libc::socklen_t::try_from(mem::size_of::<libc::sockaddr_in6>())
        .map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    header.msg_iov = &mut iov;
    header.msg_iovlen = 1;
    header.msg_control = control.as_mut_ptr().cast();
    header.msg_controllen = mem::size_of_val(&control);
    let received = loop {
        // SAFETY: `header` points at `source`, `iov` (over `buffer`) and
        // `control`, all live and writable for their stated lengths; the
        // kernel writes at most those lengths.
        let result = unsafe { libc::recvmsg(socket.as_raw_fd(), &mut header, 0) };
        if result >= 0 {
            break usize::try_from(result).unwrap_or(0);
        }
        let error = io::Error::last_os_error();
        match error.kind() {
            io::ErrorKind::WouldBlock => return Ok(None),
            io::ErrorKind::Interrupted => continue,
            _ => return Err(error),
        }
    };
    // SAFETY: `source` was zeroed (a valid `sockaddr_in6`) and the kernel
    // wrote at most its size into it.
    let source = unsafe { source.assume_init() };
    let mut message = ReceivedIcmpv6 {
        len: received.min(buffer.len()),
        source: Ipv6Addr::from(source.sin6_addr.s6_addr),
        destination: None,
        hop_limit: None,
    };
    // SAFETY: `header` is the one `recvmsg` filled in: `msg_control` and
    // `msg_controllen` describe the control messages it wrote into
    // `control`, which is still alive. CMSG_FIRSTHDR/NXTHDR stay within
    // that length and return null at its end.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&header) };
    while !cmsg.is_null() {
        // SAFETY: `cmsg` is non-null and points at a complete `cmsghdr`
        // inside `control` (CMSG_FIRSTHDR/NXTHDR check its length); its
        // data is read unaligned, and only for the two types whose size
        // the kernel fixes.
        unsafe {
            let level = (*cmsg).cmsg_level;
            let kind = (*cmsg).cmsg_type;
            let data = libc::CMSG_DATA(cmsg);
            if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_PKTINFO {
                let info = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                message.destination = Some(Ipv6Addr::from(info.ipi6_addr.s6_addr));
            } else if level == libc::IPPROTO_IPV6 && kind == libc::IPV6_HOPLIMIT {
                let hops = std::ptr::read_unaligned(data.cast::<libc::c_int>());
                message.hop_limit = u8::try_from(hops).ok();
            }
            cmsg = libc::CMSG_NXTHDR(&header, cmsg);
        }
    }
    Ok(Some(message))
}

macro_rules! event_source {
    ($($kind:ty => |$this:ident| $socket:expr),* $(,)?) => {$(
        impl AsRawFd for $kind {
            fn as_raw_fd(&self) -> RawFd {
                let $this = self;
                $socket.as_raw_fd()
            }
        }

        impl Source for $kind {
            fn register(
                &mut self,
                registry: &Registry,
                token: Token,
                interests: Interest,
            ) -> io::Result<()> {
                SourceFd(&self.as_raw_fd()).register(registry, token, interests)
            }

            fn reregister(
                &mut self,
                registry: &Registry,
                token: Token,
                interests: Interest,
            ) -> io::Result<()> {
                SourceFd(&self.as_raw_fd()).reregister(registry, token, interests)
            }

            fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
                SourceFd(&self.as_raw_fd()).deregister(registry)
            }
        }
    )*};
}

event_source! {
    ProbeSocket => |this| this.socket(),
    EchoProbe => |this| this.socket,
    ArpProbe => |this| this.socket,
    NdProbe => |this| this.socket,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solicited_node_address_keeps_the_low_24_bits() {
        let target: Ipv6Addr = "2001:db8::12:3456:789a".parse().unwrap();
        assert_eq!(
            solicited_node(target),
            "ff02::1:ff56:789a".parse::<Ipv6Addr>().unwrap()
        );
    }

    fn ipv4_echo_reply(source: Ipv4Addr, ident: u16, seq: u16) -> Vec<u8> {
        let icmp = Icmpv4Repr::EchoReply {
            ident,
            seq_no: seq,
            data: ECHO_PAYLOAD,
        };
        let mut datagram = vec![0u8; 20 + icmp.buffer_len()];
        datagram[0] = 0x45;
        let total = u16::try_from(datagram.len()).unwrap().to_be_bytes();
        datagram[2..4].copy_from_slice(&total);
        datagram[8] = 64;
        datagram[9] = 1;
        datagram[12..16].copy_from_slice(&source.octets());
        datagram[16..20].copy_from_slice(&[192, 0, 2, 1]);
        let mut ip = Ipv4Packet::new_unchecked(&mut datagram[..]);
        ip.fill_checksum();
        icmp.emit(&mut Icmpv4Packet::new_unchecked(&mut datagram[20..]));
        datagram
    }

    #[test]
    fn ipv4_echo_replies_match_on_source_and_identifier() {
        let target = Ipv4Addr::new(192, 0, 2, 2);
        let reply = ipv4_echo_reply(target, 7, 42);
        assert_eq!(echo_reply_v4(&reply, target, 7), Some(42));
        assert_eq!(echo_reply_v4(&reply, target, 8), None, "another identifier");
        let other = ipv4_echo_reply(Ipv4Addr::new(192, 0, 2, 3), 7, 42);
        assert_eq!(echo_reply_v4(&other, target, 7), None, "another source");
        let mut corrupt = reply.clone();
        let last = corrupt.len() - 1;
        corrupt[last] ^= 0xff;
        assert_eq!(echo_reply_v4(&corrupt, target, 7), None, "bad checksum");
        for len in 0..reply.len() {
            assert_eq!(
                echo_reply_v4(&reply[..len], target, 7),
                None,
                "cut at {len}"
            );
        }
    }

    fn neighbor_advert(target: Ipv6Addr, solicited: bool, from: Ipv6Addr, to: Ipv6Addr) -> Vec<u8> {
        let advert = Icmpv6Repr::NeighborAdvert(dataplane::packet::NdpNeighborAdvert {
            router: true,
            solicited,
            override_: true,
            target,
            target_lladdr: Some(MacAddr([2, 0, 0, 0, 0, 2])),
        });
        let mut message = vec![0u8; advert.buffer_len()];
        advert.emit(
            &from,
            &to,
            &mut Icmpv6Packet::new_unchecked(&mut message[..]),
        );
        message
    }

    #[test]
    fn neighbor_adverts_must_be_solicited_for_the_target_and_from_the_link() {
        let ours: Ipv6Addr = "2001:db8:1::1".parse().unwrap();
        let target: Ipv6Addr = "2001:db8:1::2".parse().unwrap();
        let message = neighbor_advert(target, true, target, ours);
        let received = ReceivedIcmpv6 {
            len: message.len(),
            source: target,
            destination: Some(ours),
            hop_limit: Some(255),
        };
        assert!(advert_for(&message, &received, target));
        let other_target: Ipv6Addr = "2001:db8:1::3".parse().unwrap();
        assert!(!advert_for(&message, &received, other_target));
        let routed = ReceivedIcmpv6 {
            hop_limit: Some(254),
            ..received
        };
        assert!(!advert_for(&message, &routed, target), "hop limit 254");
        let unsolicited = neighbor_advert(target, false, target, ours);
        assert!(!advert_for(&unsolicited, &received, target));
        let no_destination = ReceivedIcmpv6 {
            destination: None,
            ..received
        };
        assert!(!advert_for(&message, &no_destination, target));
    }

    #[test]
    fn arp_replies_must_come_from_the_target_and_be_for_us() {
        let ours = Ipv4Addr::new(192, 0, 2, 1);
        let target = Ipv4Addr::new(192, 0, 2, 2);
        let frame = |operation, sender, receiver| {
            let mut frame = [0u8; MIN_FRAME_LEN];
            let mut view = EthernetFrame::new_unchecked(&mut frame[..]);
            EthernetRepr {
                src_addr: MacAddr([2, 0, 0, 0, 0, 2]),
                dst_addr: MacAddr([2, 0, 0, 0, 0, 1]),
                ethertype: EtherType::Arp,
            }
            .emit(&mut view);
            ArpRepr {
                operation,
                sender_hardware_addr: MacAddr([2, 0, 0, 0, 0, 2]),
                sender_protocol_addr: sender,
                target_hardware_addr: MacAddr([2, 0, 0, 0, 0, 1]),
                target_protocol_addr: receiver,
            }
            .emit(&mut ArpPacket::new_unchecked(view.payload_mut()));
            frame
        };
        assert!(arp_reply_from(
            &frame(ArpOperation::Reply, target, ours),
            target,
            ours
        ));
        assert!(!arp_reply_from(
            &frame(ArpOperation::Request, target, ours),
            target,
            ours
        ));
        let other = Ipv4Addr::new(192, 0, 2, 3);
        assert!(!arp_reply_from(
            &frame(ArpOperation::Reply, other, ours),
            target,
            ours
        ));
        assert!(!arp_reply_from(
            &frame(ArpOperation::Reply, target, other),
            target,
            ours
        ));
        assert!(!arp_reply_from(&[0u8; 20], target, ours));
    }
}
