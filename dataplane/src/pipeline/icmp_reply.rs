//! ICMP and ICMPv6 errors leaving the router: whether to send one
//! (RFC 1812 §4.3.2.7, RFC 4443 §2.4(e)), the rate limit, the way back to
//! the offending packet's source, and building the reply frame.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::fib::{FibSnapshot, NextHop, RouteTarget};
use crate::packet::ipv6::Ipv6Packet;
use crate::packet::{MacAddr, ip_protocol::IpProtocol};
use crate::port::{Frame, FramePool, PortId};

use super::classify::{L3_OFFSET, is_link_local};
use super::counters::{DropReason, PuntClass};
use super::forwarder::{CoreState, l3, select};
use super::icmp_error::{
    Icmpv4Error, Icmpv6Error, may_send_icmpv4_error, may_send_icmpv6_error, write_icmpv4_error,
    write_icmpv6_error,
};
use super::output::{BurstOutput, Punted};
use super::port_table::PortConfig;

/// Where an ICMP error goes.
enum ReturnPath {
    Via(NextHop),
    /// Straight back to the previous hop (link-local sources).
    Direct {
        port: PortId,
        mac: MacAddr,
    },
    /// To the host side: the offending packet was the router's own.
    Host(PortId),
}

impl CoreState {
    /// Drops `frame` for `reason` and, where RFC 1812 allows and the rate
    /// limit has room, tells its source with an ICMP error.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn reject_v4(
        &mut self,
        fib: &FibSnapshot,
        rx_port: PortId,
        frame: Frame,
        reason: DropReason,
        error: Icmpv4Error,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        self.counters.count_drop(reason);
        self.send_icmpv4_error(fib, rx_port, frame, error, pool, out, now_ns);
        pool.free(frame.addr);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn reject_v6(
        &mut self,
        fib: &FibSnapshot,
        rx_port: PortId,
        frame: Frame,
        reason: DropReason,
        error: Icmpv6Error,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        self.counters.count_drop(reason);
        self.send_icmpv6_error(fib, rx_port, frame, error, pool, out, now_ns);
        pool.free(frame.addr);
    }

    #[allow(clippy::too_many_arguments)]
    fn send_icmpv4_error(
        &mut self,
        fib: &FibSnapshot,
        rx_port: PortId,
        frame: Frame,
        error: Icmpv4Error,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        let mut quote = [0u8; 548];
        let (quote_len, orig_src) = {
            let ip = l3(pool.data(frame));
            if !may_send_icmpv4_error(ip, false) {
                return;
            }
            let n = ip.len().min(quote.len());
            quote[..n].copy_from_slice(&ip[..n]);
            (n, Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]))
        };
        if !self.icmp_v4.allow(now_ns) {
            self.counters.icmp_errors_rate_limited.inc();
            return;
        }
        let hash = self.hasher.hash_v4(0, u32::from(orig_src), 1, 0, 0);
        let Some(path) =
            self.return_path(fib, fib.lookup_v4(u32::from(orig_src)), hash, rx_port, None)
        else {
            return;
        };
        let Some(src) = self
            .ports
            .get(path.port() as usize)
            .and_then(PortConfig::ipv4_source)
            .or_else(|| self.ports.get(rx_port as usize)?.ipv4_source())
        else {
            return;
        };
        let dst = IpAddr::V4(orig_src);
        self.emit_reply(path, dst, 0x0800, pool, out, now_ns, |buf| {
            write_icmpv4_error(buf, src, orig_src, &error, &quote[..quote_len])
        });
    }

    #[allow(clippy::too_many_arguments)]
    fn send_icmpv6_error(
        &mut self,
        fib: &FibSnapshot,
        rx_port: PortId,
        frame: Frame,
        error: Icmpv6Error,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        let mut quote = [0u8; 1232];
        let (quote_len, orig_src, prev_hop) = {
            let data = pool.data(frame);
            let ip = l3(data);
            let icmp_type = Ipv6Packet::new_checked(ip)
                .ok()
                .and_then(|p| match p.upper_layer() {
                    Ok(ul) if ul.protocol == IpProtocol::Icmpv6 && ul.has_header() => {
                        ip.get(ul.offset).copied()
                    }
                    _ => None,
                });
            if !may_send_icmpv6_error(ip, false, icmp_type, &error) {
                return;
            }
            let n = ip.len().min(quote.len());
            quote[..n].copy_from_slice(&ip[..n]);
            let mut src = [0u8; 16];
            src.copy_from_slice(&ip[8..24]);
            (
                n,
                Ipv6Addr::from(src),
                MacAddr::from_bytes(data.get(6..12).unwrap_or(&[])),
            )
        };
        if !self.icmp_v6.allow(now_ns) {
            self.counters.icmp_errors_rate_limited.inc();
            return;
        }
        let direct = if is_link_local(&orig_src) {
            prev_hop.map(|mac| (rx_port, mac))
        } else {
            None
        };
        let hash = self.hasher.hash_v6(0, u128::from(orig_src), 58, 0, 0);
        let Some(path) = self.return_path(
            fib,
            fib.lookup_v6(u128::from(orig_src)),
            hash,
            rx_port,
            direct,
        ) else {
            return;
        };
        let Some(src) = self
            .ports
            .get(path.port() as usize)
            .and_then(PortConfig::ipv6_source)
            .or_else(|| self.ports.get(rx_port as usize)?.ipv6_source())
        else {
            return;
        };
        let dst = IpAddr::V6(orig_src);
        self.emit_reply(path, dst, 0x86dd, pool, out, now_ns, |buf| {
            write_icmpv6_error(buf, src, orig_src, &error, &quote[..quote_len])
        });
    }

    /// Builds a reply in a fresh frame — `write` fills the IP packet after
    /// the Ethernet header and returns its length — and sends it on `path`.
    #[allow(clippy::too_many_arguments)]
    fn emit_reply(
        &mut self,
        path: ReturnPath,
        dst: IpAddr,
        ethertype: u16,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
        write: impl FnOnce(&mut [u8]) -> Option<usize>,
    ) {
        let Some(mut reply) = pool.alloc() else {
            self.counters.count_drop(DropReason::NoBuffer);
            return;
        };
        let room = pool.room_mut(reply);
        let Some(len) = room.get_mut(L3_OFFSET..).and_then(write) else {
            pool.free(reply.addr);
            return;
        };
        room[12..14].copy_from_slice(&ethertype.to_be_bytes());
        reply.len = (L3_OFFSET + len) as u32;
        self.send_reply(reply, path, dst, pool, out, now_ns);
    }

    /// How an ICMP error gets back to the offending packet's source.
    fn return_path(
        &self,
        fib: &FibSnapshot,
        target: Option<RouteTarget>,
        hash: u32,
        rx_port: PortId,
        direct: Option<(PortId, MacAddr)>,
    ) -> Option<ReturnPath> {
        if let Some((port, mac)) = direct {
            return Some(ReturnPath::Direct { port, mac });
        }
        match target? {
            RouteTarget::Group(g) => select(fib, &self.liveness, g, hash)
                .ok()
                .map(|nh| ReturnPath::Via(*nh)),
            RouteTarget::Local => Some(ReturnPath::Host(rx_port)),
            RouteTarget::Blackhole | RouteTarget::Unreachable => None,
        }
    }

    fn send_reply(
        &mut self,
        reply: Frame,
        path: ReturnPath,
        dst: IpAddr,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        let result = match path {
            ReturnPath::Via(nexthop) => self.transmit(reply, &nexthop, dst, pool, out, now_ns),
            ReturnPath::Direct { port, mac } => {
                let nexthop = NextHop {
                    port,
                    gateway: None,
                    mac: Some(mac),
                };
                self.transmit(reply, &nexthop, dst, pool, out, now_ns)
            }
            ReturnPath::Host(port) => {
                if out.push_punt(Punted {
                    frame: reply,
                    port,
                    class: PuntClass::Local,
                }) {
                    Ok(())
                } else {
                    pool.free(reply.addr);
                    Err(DropReason::PuntQueueFull)
                }
            }
        };
        match result {
            Ok(()) => self.counters.icmp_errors_sent.inc(),
            Err(reason) => self.counters.count_drop(reason),
        }
    }
}

impl ReturnPath {
    fn port(&self) -> PortId {
        match self {
            ReturnPath::Via(nh) => nh.port,
            ReturnPath::Direct { port, .. } | ReturnPath::Host(port) => *port,
        }
    }
}
