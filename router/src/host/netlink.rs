//! Interface and address control over rtnetlink (RFC 3549), synchronously:
//! one `NETLINK_ROUTE` socket, every request acknowledged (`NLM_F_ACK`), the
//! answer read before the call returns. Messages are encoded and decoded by
//! the rust-netlink crates; errors name the operation and the interface.

use std::io;
use std::net::IpAddr;

use dataplane::packet::MacAddr;
use ipnet::IpNet;
use netlink_packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REQUEST, NetlinkHeader,
    NetlinkMessage, NetlinkPayload,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{
    InfoKind, LinkAttribute, LinkFlags, LinkInfo as LinkInfoNla, LinkMessage,
};
use netlink_packet_route::route::{RouteAttribute, RouteMessage, RouteProtocol};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::protocols::NETLINK_ROUTE;
use netlink_sys::{Socket, SocketAddr};

use super::{HostError, OperState, validate_interface_name};

/// How often a dump the kernel flags as interrupted (`NLM_F_DUMP_INTR`: the
/// table changed under it) is restarted before giving up.
const DUMP_ATTEMPTS: u32 = 5;

/// What the kernel says about one interface.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkInfo {
    pub ifindex: u32,
    pub name: String,
    pub mac: MacAddr,
    pub mtu: u32,
    /// `IFF_UP`: administratively up.
    pub admin_up: bool,
    /// `IFLA_CARRIER`.
    pub carrier: bool,
    pub oper_state: OperState,
    /// `IFLA_INFO_KIND` (`"tun"`, `"veth"`, …); `None` for plain NICs.
    pub kind: Option<String>,
}

/// A synchronous rtnetlink handle.
pub struct Netlink {
    socket: Socket,
    sequence: u32,
}

/// Why a request failed, before it is given its operation and interface.
enum Failure {
    Errno(i32),
    Io(io::Error),
    Decode(String),
}

impl Failure {
    fn into_host_error(self, op: &'static str, interface: &str) -> HostError {
        match self {
            Failure::Errno(errno) => HostError::netlink(op, interface, errno),
            Failure::Io(source) => HostError::io(op, interface, source),
            Failure::Decode(reason) => HostError::Decode {
                op,
                interface: interface.to_string(),
                reason,
            },
        }
    }
}

impl Netlink {
    pub fn open() -> Result<Self, HostError> {
        let open_error = |e| HostError::io("open rtnetlink socket", "(none)", e);
        let mut socket = Socket::new(NETLINK_ROUTE).map_err(open_error)?;
        socket.bind_auto().map_err(open_error)?;
        socket.connect(&SocketAddr::new(0, 0)).map_err(open_error)?;
        // Errors then carry only the request's header, not the whole request
        // echoed back; an old kernel without it still works.
        let _ = socket.set_cap_ack(true);
        Ok(Netlink {
            socket,
            sequence: 0,
        })
    }

    pub fn ifindex(&mut self, name: &str) -> Result<u32, HostError> {
        self.link_info(name).map(|link| link.ifindex)
    }

    pub fn link_info(&mut self, name: &str) -> Result<LinkInfo, HostError> {
        validate_interface_name(name)?;
        let mut request = LinkMessage::default();
        request
            .attributes
            .push(LinkAttribute::IfName(name.to_string()));
        let replies = self
            .request(RouteNetlinkMessage::GetLink(request), 0)
            .map_err(|f| f.into_host_error("read link", name))?;
        replies
            .into_iter()
            .find_map(|reply| match reply {
                RouteNetlinkMessage::NewLink(link) => Some(link_info_from(&link)),
                _ => None,
            })
            .ok_or_else(|| HostError::NoSuchInterface(name.to_string()))
    }

    /// Every interface in this network namespace.
    pub fn links(&mut self) -> Result<Vec<LinkInfo>, HostError> {
        let replies = self
            .dump(RouteNetlinkMessage::GetLink(LinkMessage::default()))
            .map_err(|f| f.into_host_error("list links", "(all)"))?;
        Ok(replies
            .iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewLink(link) => Some(link_info_from(link)),
                _ => None,
            })
            .collect())
    }

    pub fn set_mac(&mut self, ifindex: u32, mac: MacAddr) -> Result<(), HostError> {
        let mut request = link_request(ifindex);
        request
            .attributes
            .push(LinkAttribute::Address(mac.octets().to_vec()));
        self.set_link(ifindex, request, "set MAC address")
    }

    pub fn set_mtu(&mut self, ifindex: u32, mtu: u32) -> Result<(), HostError> {
        let mut request = link_request(ifindex);
        request.attributes.push(LinkAttribute::Mtu(mtu));
        self.set_link(ifindex, request, "set MTU")
    }

    pub fn set_up(&mut self, ifindex: u32, up: bool) -> Result<(), HostError> {
        let mut request = link_request(ifindex);
        request.header.change_mask = LinkFlags::Up;
        if up {
            request.header.flags = LinkFlags::Up;
        }
        let op = if up { "set link up" } else { "set link down" };
        self.set_link(ifindex, request, op)
    }

    /// Deletes an interface (a TAP, a veth pair, …).
    pub fn delete_link(&mut self, ifindex: u32) -> Result<(), HostError> {
        let name = self.describe(ifindex);
        self.request(RouteNetlinkMessage::DelLink(link_request(ifindex)), 0)
            .map(drop)
            .map_err(|f| f.into_host_error("delete link", &name))
    }

    /// Adds `net` (the address and its prefix length) to the interface. An
    /// address already there is not an error.
    pub fn add_address(&mut self, ifindex: u32, net: IpNet) -> Result<(), HostError> {
        self.new_address(ifindex, address_request(ifindex, net))
    }

    /// Removes every IPv4 and IPv6 address of the interface, link-local
    /// included.
    pub fn flush_addresses(&mut self, ifindex: u32) -> Result<(), HostError> {
        for address in self.address_messages(ifindex)? {
            let mut request = AddressMessage::default();
            request.header = address.header.clone();
            request.attributes = address
                .attributes
                .iter()
                .filter(|a| matches!(a, AddressAttribute::Local(_) | AddressAttribute::Address(_)))
                .cloned()
                .collect();
            match self.request(RouteNetlinkMessage::DelAddress(request), 0) {
                Ok(_) => {}
                // Deleting an IPv4 primary address takes its secondaries
                // with it (unless promote_secondaries is set): they are
                // gone already.
                Err(Failure::Errno(libc::EADDRNOTAVAIL)) => {}
                Err(f) => {
                    let name = self.describe(ifindex);
                    return Err(f.into_host_error("delete address", &name));
                }
            }
        }
        Ok(())
    }

    /// The interface's addresses, IPv4 then IPv6 in kernel order.
    pub fn addresses(&mut self, ifindex: u32) -> Result<Vec<IpNet>, HostError> {
        Ok(self
            .address_messages(ifindex)?
            .iter()
            .filter_map(ip_net_of)
            .collect())
    }

    /// The kernel's full records of the interface's addresses: what a
    /// restore needs beyond the prefix (broadcast, label, flags).
    pub(crate) fn address_messages(
        &mut self,
        ifindex: u32,
    ) -> Result<Vec<AddressMessage>, HostError> {
        let replies = match self.dump(RouteNetlinkMessage::GetAddress(AddressMessage::default())) {
            Ok(replies) => replies,
            Err(f) => {
                let name = self.describe(ifindex);
                return Err(f.into_host_error("list addresses", &name));
            }
        };
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                // A dump is not filtered by interface without strict
                // checking; filtering here works on every kernel.
                RouteNetlinkMessage::NewAddress(address) if address.header.index == ifindex => {
                    Some(address)
                }
                _ => None,
            })
            .collect())
    }

    /// Adds an address again from a record `address_messages` returned.
    pub(crate) fn restore_address(&mut self, saved: &AddressMessage) -> Result<(), HostError> {
        self.new_address(saved.header.index, restorable(saved))
    }

    fn new_address(&mut self, ifindex: u32, request: AddressMessage) -> Result<(), HostError> {
        match self.request(
            RouteNetlinkMessage::NewAddress(request),
            NLM_F_CREATE | NLM_F_EXCL,
        ) {
            Ok(_) | Err(Failure::Errno(libc::EEXIST)) => Ok(()),
            Err(f) => {
                let name = self.describe(ifindex);
                Err(f.into_host_error("add address", &name))
            }
        }
    }

    /// Routes in the kernel, IPv4 and IPv6, optionally only those of one
    /// protocol (`RTPROT_*`) and/or one table. The kernel filters the dump
    /// itself when it supports strict checking of dump requests (Linux
    /// 4.20+), so a host with a full table does not ship it all here; the
    /// same filter is applied again below for kernels that ignore it.
    pub(crate) fn routes(
        &mut self,
        protocol: Option<u8>,
        table: Option<u32>,
    ) -> Result<Vec<RouteMessage>, HostError> {
        let mut request = RouteMessage::default();
        if let Some(protocol) = protocol {
            request.header.protocol = RouteProtocol::from(protocol);
        }
        if let Some(table) = table {
            request.attributes.push(RouteAttribute::Table(table));
        }
        let strict = self.socket.set_netlink_get_strict_chk(true).is_ok();
        let replies = self.dump(RouteNetlinkMessage::GetRoute(request));
        if strict {
            // Other requests on this socket are written for the lenient
            // checks.
            let _ = self.socket.set_netlink_get_strict_chk(false);
        }
        let replies = replies.map_err(|f| f.into_host_error("list routes", "(all)"))?;
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewRoute(route)
                    if matches!(
                        route.header.address_family,
                        AddressFamily::Inet | AddressFamily::Inet6
                    ) && protocol.is_none_or(|p| u8::from(route.header.protocol) == p)
                        && table.is_none_or(|t| route_table(&route) == t) =>
                {
                    Some(route)
                }
                _ => None,
            })
            .collect())
    }

    /// Adds or replaces a route: `flags` are `NLM_F_CREATE` with
    /// `NLM_F_EXCL`, `NLM_F_REPLACE` or `NLM_F_APPEND`. `route` names the
    /// route in errors (prefix, table, metric).
    pub(crate) fn new_route(
        &mut self,
        request: RouteMessage,
        flags: u16,
        op: &'static str,
        route: &str,
    ) -> Result<(), HostError> {
        self.request(RouteNetlinkMessage::NewRoute(request), flags)
            .map(drop)
            .map_err(|f| route_error(f, op, route))
    }

    pub(crate) fn delete_route(
        &mut self,
        request: RouteMessage,
        route: &str,
    ) -> Result<(), HostError> {
        self.request(RouteNetlinkMessage::DelRoute(request), 0)
            .map(drop)
            .map_err(|f| route_error(f, "delete route", route))
    }

    fn set_link(
        &mut self,
        ifindex: u32,
        request: LinkMessage,
        op: &'static str,
    ) -> Result<(), HostError> {
        match self.request(RouteNetlinkMessage::SetLink(request), 0) {
            Ok(_) => Ok(()),
            Err(f) => {
                let name = self.describe(ifindex);
                Err(f.into_host_error(op, &name))
            }
        }
    }

    /// The interface's name for an error message, or its index if it has
    /// none (any more).
    fn describe(&mut self, ifindex: u32) -> String {
        let fallback = format!("ifindex {ifindex}");
        match self.request(RouteNetlinkMessage::GetLink(link_request(ifindex)), 0) {
            Ok(replies) => replies
                .iter()
                .find_map(|reply| match reply {
                    RouteNetlinkMessage::NewLink(link) => Some(link_info_from(link).name),
                    _ => None,
                })
                .filter(|name| !name.is_empty())
                .unwrap_or(fallback),
            Err(_) => fallback,
        }
    }

    /// A dump, restarted if the kernel says the table changed under it.
    fn dump(&mut self, request: RouteNetlinkMessage) -> Result<Vec<RouteNetlinkMessage>, Failure> {
        let mut attempt = 1;
        loop {
            match self.request(request.clone(), NLM_F_DUMP) {
                Err(Failure::Errno(libc::EINTR)) if attempt < DUMP_ATTEMPTS => attempt += 1,
                other => return other,
            }
        }
    }

    /// Sends one request and collects its replies until the kernel's ACK
    /// (or error), or for a dump until `NLMSG_DONE`. Replies to earlier,
    /// abandoned requests are recognised by their sequence number and
    /// skipped. An interrupted dump reports `EINTR`.
    fn request(
        &mut self,
        message: RouteNetlinkMessage,
        flags: u16,
    ) -> Result<Vec<RouteNetlinkMessage>, Failure> {
        self.sequence = self.sequence.wrapping_add(1);
        let sequence = self.sequence;
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_REQUEST | NLM_F_ACK | flags;
        header.sequence_number = sequence;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::from(message));
        packet.finalize();
        let mut bytes = vec![0; packet.buffer_len()];
        packet.serialize(&mut bytes);
        self.socket.send(&bytes, 0).map_err(Failure::Io)?;

        let mut replies = Vec::new();
        let mut interrupted = false;
        loop {
            let (datagram, _) = self.socket.recv_from_full().map_err(Failure::Io)?;
            let mut offset = 0usize;
            while let Some(rest) = datagram.get(offset..).filter(|rest| !rest.is_empty()) {
                let reply = NetlinkMessage::<RouteNetlinkMessage>::deserialize(rest)
                    .map_err(|e| Failure::Decode(e.to_string()))?;
                let length = reply.header.length as usize;
                if length == 0 {
                    break;
                }
                // Messages in a datagram start on 4-byte boundaries
                // (NLMSG_ALIGN).
                offset = offset.saturating_add(length.saturating_add(3) & !3);
                if reply.header.sequence_number != sequence {
                    continue;
                }
                if reply.header.flags & NLM_F_DUMP_INTR != 0 {
                    interrupted = true;
                }
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => replies.push(inner),
                    NetlinkPayload::Error(error) => {
                        return match error.code {
                            None => Ok(replies),
                            Some(code) => Err(Failure::Errno(code.get().saturating_neg())),
                        };
                    }
                    NetlinkPayload::Done(done) => {
                        return if done.code < 0 {
                            Err(Failure::Errno(done.code.saturating_neg()))
                        } else if interrupted {
                            Err(Failure::Errno(libc::EINTR))
                        } else {
                            Ok(replies)
                        };
                    }
                    _ => {}
                }
            }
        }
    }
}

/// A route request's failure. Unlike link and address requests, `ENODEV`
/// here is about a next hop's interface, not a named one, so the errno is
/// kept as the kernel gave it.
fn route_error(failure: Failure, op: &'static str, route: &str) -> HostError {
    match failure {
        Failure::Errno(errno) if errno != libc::EPERM && errno != libc::EACCES => {
            HostError::Netlink {
                op,
                interface: route.to_string(),
                errno,
            }
        }
        other => other.into_host_error(op, route),
    }
}

/// The table a dumped route is in: `RTA_TABLE` when present (ids above 255
/// only fit there), the header's byte otherwise.
pub(crate) fn route_table(route: &RouteMessage) -> u32 {
    route
        .attributes
        .iter()
        .find_map(|a| match a {
            RouteAttribute::Table(table) => Some(*table),
            _ => None,
        })
        .unwrap_or(u32::from(route.header.table))
}

fn link_request(ifindex: u32) -> LinkMessage {
    let mut request = LinkMessage::default();
    request.header.index = ifindex;
    request
}

fn link_info_from(link: &LinkMessage) -> LinkInfo {
    let mut info = LinkInfo {
        ifindex: link.header.index,
        name: String::new(),
        mac: MacAddr::ZERO,
        mtu: 0,
        admin_up: link.header.flags.contains(LinkFlags::Up),
        carrier: false,
        oper_state: OperState::Unknown,
        kind: None,
    };
    for attribute in &link.attributes {
        match attribute {
            LinkAttribute::IfName(name) => info.name = name.clone(),
            LinkAttribute::Address(bytes) if bytes.len() == 6 => {
                info.mac = MacAddr::from_bytes(bytes).unwrap_or(MacAddr::ZERO);
            }
            LinkAttribute::Mtu(mtu) => info.mtu = *mtu,
            LinkAttribute::Carrier(carrier) => info.carrier = *carrier != 0,
            LinkAttribute::OperState(state) => info.oper_state = OperState::from(u8::from(*state)),
            LinkAttribute::LinkInfo(nested) => {
                info.kind = nested.iter().find_map(|nla| match nla {
                    LinkInfoNla::Kind(InfoKind::Other(kind)) => Some(kind.clone()),
                    LinkInfoNla::Kind(kind) => Some(kind.to_string()),
                    _ => None,
                });
            }
            _ => {}
        }
    }
    info
}

fn address_request(ifindex: u32, net: IpNet) -> AddressMessage {
    let mut request = AddressMessage::default();
    request.header.index = ifindex;
    request.header.prefix_len = net.prefix_len();
    let address = net.addr();
    // As `ip address add` does: host scope for loopback addresses, global
    // otherwise (the kernel derives IPv6 scopes itself).
    request.header.scope = if address.is_loopback() {
        AddressScope::Host
    } else {
        AddressScope::Universe
    };
    request.header.family = match address {
        IpAddr::V4(_) => AddressFamily::Inet,
        IpAddr::V6(_) => AddressFamily::Inet6,
    };
    request.attributes.push(AddressAttribute::Local(address));
    request.attributes.push(AddressAttribute::Address(address));
    if let IpNet::V4(v4) = net {
        // `ip address add … brd +`: the directed broadcast of the subnet;
        // /31 and /32 have none (RFC 3021 section 2.2).
        if v4.prefix_len() < 31 {
            request
                .attributes
                .push(AddressAttribute::Broadcast(v4.broadcast()));
        }
    }
    request
}

/// The parts of a dumped address record that make sense in a new-address
/// request. Lifetimes (cache info) are left out, so a restored address is
/// permanent; kernel-managed flags (tentative, secondary, …) are dropped.
fn restorable(saved: &AddressMessage) -> AddressMessage {
    let settable = AddressFlags::Nodad
        | AddressFlags::Optimistic
        | AddressFlags::Homeaddress
        | AddressFlags::Managetempaddr
        | AddressFlags::Noprefixroute
        | AddressFlags::Mcautojoin;
    let mut request = AddressMessage::default();
    request.header = saved.header.clone();
    request.header.flags =
        AddressHeaderFlags::from_bits_retain(saved.header.flags.bits() & settable.bits() as u8);
    request.attributes = saved
        .attributes
        .iter()
        .filter_map(|attribute| match attribute {
            AddressAttribute::Local(_)
            | AddressAttribute::Address(_)
            | AddressAttribute::Broadcast(_)
            | AddressAttribute::Label(_)
            | AddressAttribute::RoutePriority(_) => Some(attribute.clone()),
            AddressAttribute::Flags(flags) => Some(AddressAttribute::Flags(*flags & settable)),
            _ => None,
        })
        .collect();
    request
}

/// The address and prefix of a dumped record: IFA_LOCAL is the interface's
/// own address (IFA_ADDRESS is the peer's on point-to-point links), IPv6
/// records carry only IFA_ADDRESS.
fn ip_net_of(address: &AddressMessage) -> Option<IpNet> {
    let local = address.attributes.iter().find_map(|a| match a {
        AddressAttribute::Local(ip) => Some(*ip),
        _ => None,
    });
    let peer = address.attributes.iter().find_map(|a| match a {
        AddressAttribute::Address(ip) => Some(*ip),
        _ => None,
    });
    IpNet::new(local.or(peer)?, address.header.prefix_len).ok()
}

/// Whether a dumped record is an address the kernel would not recreate by
/// itself: IPv4 addresses, and IPv6 ones marked permanent (configured, or
/// the kernel's link-local) rather than learnt from Router Advertisements.
pub(crate) fn is_configured(address: &AddressMessage) -> bool {
    let flags = address.attributes.iter().find_map(|a| match a {
        AddressAttribute::Flags(flags) => Some(*flags),
        _ => None,
    });
    let permanent = match flags {
        Some(flags) => flags.contains(AddressFlags::Permanent),
        None => address.header.flags.contains(AddressHeaderFlags::Permanent),
    };
    address.header.family != AddressFamily::Inet6 || permanent
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_request_carries_local_address_and_broadcast() {
        let net: IpNet = "192.0.2.1/24".parse().unwrap();
        let request = address_request(7, net);
        assert_eq!(request.header.index, 7);
        assert_eq!(request.header.prefix_len, 24);
        assert_eq!(request.header.family, AddressFamily::Inet);
        assert!(
            request
                .attributes
                .contains(&AddressAttribute::Broadcast("192.0.2.255".parse().unwrap()))
        );
        assert_eq!(ip_net_of(&request), Some(net));
    }

    #[test]
    fn point_to_point_prefixes_get_no_broadcast() {
        for text in ["192.0.2.0/31", "192.0.2.1/32", "2001:db8::1/64"] {
            let request = address_request(1, text.parse().unwrap());
            assert!(
                !request
                    .attributes
                    .iter()
                    .any(|a| matches!(a, AddressAttribute::Broadcast(_))),
                "{text}"
            );
        }
    }

    #[test]
    fn restore_drops_kernel_managed_flags() {
        let mut saved = address_request(3, "2001:db8::1/64".parse().unwrap());
        saved.header.flags = AddressHeaderFlags::Permanent | AddressHeaderFlags::Nodad;
        saved.attributes.push(AddressAttribute::Flags(
            AddressFlags::Permanent | AddressFlags::Tentative | AddressFlags::Noprefixroute,
        ));
        assert!(is_configured(&saved));
        let request = restorable(&saved);
        assert_eq!(request.header.flags, AddressHeaderFlags::Nodad);
        assert!(
            request
                .attributes
                .contains(&AddressAttribute::Flags(AddressFlags::Noprefixroute))
        );
    }

    #[test]
    fn slaac_addresses_are_not_configured() {
        let mut learnt = address_request(3, "2001:db8::2/64".parse().unwrap());
        learnt
            .attributes
            .push(AddressAttribute::Flags(AddressFlags::empty()));
        assert!(!is_configured(&learnt));
        let v4 = address_request(3, "192.0.2.1/24".parse().unwrap());
        assert!(is_configured(&v4));
    }
}
