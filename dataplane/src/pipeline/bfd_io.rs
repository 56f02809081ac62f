//! How BFD Control packets get into and out of the core's
//! [`BfdEngine`](crate::bfd::BfdEngine), inside the forwarding loop (RFC
//! 5880/5881/5883; DESIGN.md "BFD"): nothing here waits for the control
//! plane, so a busy control plane never delays a BFD packet.
//!
//! - **In**: a UDP datagram to one of the router's addresses on port
//!   3784/4784 (3785 too: we run no Echo function, the engine counts and
//!   drops it) is classified [`PuntClass::Bfd`], policed like every punt
//!   class, taken apart ([`parse_bfd_frame`]) and handed to the engine with
//!   its arrival port and TTL; the frame is freed there. It never reaches
//!   the host side.
//! - **Out**: every loop turn [`Forwarder::poll_bfd`] runs the engine's
//!   timers — one comparison when nothing is due — and queues each packet
//!   it yields on its port: single-hop out of the session's port to the
//!   peer's MAC (RFC 5881 §6: over the one hop it protects), multihop
//!   wherever the FIB routes the peer, exactly as a transit packet to it
//!   (RFC 5883). With no MAC for the next hop yet, resolution starts and
//!   that one packet is dropped and counted: BFD sends again by itself.
//!
//! Fast reroute needs nothing from here: the engine clears a failed
//! session's next hops inside `receive`/`poll`, which both run before the
//! loop routes its next burst.

use std::net::IpAddr;

use crate::bfd::BfdTx;
use crate::fib::{FibSnapshot, FlowHasher, Liveness, RouteTarget};
use crate::neighbor::{NeighborTable, Solicitation};
use crate::packet::MacAddr;
use crate::port::{Frame, FramePool, PortId};

use super::bfd_frame::{parse_bfd_frame, write_bfd_frame};
use super::counters::{CoreCounters, DropReason, PuntClass};
use super::forwarder::{CoreState, Forwarder, queue_solicitation, select, tx_refused_reason};
use super::output::BurstOutput;
use super::port_table::PortConfig;

/// UDP, for hashing a multihop session's packets like its transit flow.
const IP_PROTOCOL_UDP: u8 = 17;

impl CoreState {
    /// A frame classified [`PuntClass::Bfd`] that passed policing: to the
    /// engine, then freed. Counted as a BFD punt when the engine saw it;
    /// its verdict is counted by the engine (globally and per session).
    pub(super) fn receive_bfd(
        &mut self,
        frame: Frame,
        port: PortId,
        pool: &mut FramePool,
        now_ns: u64,
    ) {
        match parse_bfd_frame(pool.data(frame)) {
            Ok(d) => {
                self.counters.punt(PuntClass::Bfd);
                self.bfd.receive(
                    now_ns,
                    port,
                    d.src,
                    d.dst,
                    d.ttl,
                    d.src_port,
                    d.dst_port,
                    d.payload,
                    &self.liveness,
                );
            }
            Err(_) => self.counters.count_drop(DropReason::BfdInvalid),
        }
        pool.free(frame.addr);
    }
}

impl Forwarder {
    /// The BFD engine's turn: detection timeouts (clearing the liveness of
    /// the next hops a failed session guards before this returns),
    /// hold-down releases, and due transmissions, queued in `out`. Call it
    /// every loop turn; with nothing due (or no session) it costs one
    /// comparison and takes no FIB reference.
    pub fn poll_bfd(&mut self, now_ns: u64, pool: &mut FramePool, out: &mut BurstOutput) {
        if self.core.bfd.next_deadline().is_none_or(|at| now_ns < at) {
            return;
        }
        // Held only for this call, like a burst: the FIB writer's
        // quiescence wait is not stretched. Without it (the writer is gone,
        // shutdown) timers still run; multihop packets cannot be routed.
        let guard = self.fib.enter();
        let CoreState {
            bfd,
            liveness,
            ports,
            neighbors,
            counters,
            hasher,
            ..
        } = &mut self.core;
        let mut sender = BfdSender {
            fib: guard.as_deref(),
            liveness,
            ports,
            neighbors,
            counters,
            hasher,
            pool,
            out,
            now_ns,
        };
        bfd.poll(now_ns, liveness, &mut |tx| sender.send(tx));
    }

    /// When [`Self::poll_bfd`] next has work, at the earliest; `None` with
    /// no session that will ever need it. An idle loop must not sleep past
    /// it.
    pub fn bfd_next_deadline(&self) -> Option<u64> {
        self.core.bfd.next_deadline()
    }
}

/// What the engine's transmit callback needs of the core: borrowed field
/// by field, since the engine itself is borrowed while it calls back.
struct BfdSender<'a> {
    fib: Option<&'a FibSnapshot>,
    liveness: &'a Liveness,
    ports: &'a [PortConfig],
    neighbors: &'a mut NeighborTable,
    counters: &'a CoreCounters,
    hasher: &'a FlowHasher,
    pool: &'a mut FramePool,
    out: &'a mut BurstOutput,
    now_ns: u64,
}

/// Where one packet goes: out of `port`, to `neighbor`'s MAC (or `mac`
/// when the FIB already carries it).
struct Egress {
    port: PortId,
    neighbor: IpAddr,
    mac: Option<MacAddr>,
}

impl BfdSender<'_> {
    fn send(&mut self, tx: &BfdTx) {
        if let Err(reason) = self.try_send(tx) {
            self.counters.count_drop(reason);
        }
    }

    fn try_send(&mut self, tx: &BfdTx) -> Result<(), DropReason> {
        let egress = if tx.key.multihop {
            self.route(tx)?
        } else {
            // RFC 5881 §6: over the one hop the session protects, to the
            // peer itself.
            Egress {
                port: tx.port.ok_or(DropReason::NoSuchPort)?,
                neighbor: tx.dst,
                mac: None,
            }
        };
        let port_mac = self
            .ports
            .get(usize::from(egress.port))
            .ok_or(DropReason::NoSuchPort)?
            .mac;
        let mac = match egress.mac {
            Some(mac) => mac,
            None => self.neighbor_mac(egress.port, egress.neighbor)?,
        };
        let mut frame = self.pool.alloc().ok_or(DropReason::NoBuffer)?;
        let Some(len) = write_bfd_frame(tx, port_mac, mac, self.pool.room_mut(frame)) else {
            // A pool frame too small for ~130 bytes, or mixed address
            // families, which the engine never produces.
            self.pool.free(frame.addr);
            return Err(DropReason::NoBuffer);
        };
        frame.len = len as u32;
        match self.out.push_tx(egress.port, frame) {
            Ok(()) => {
                self.counters.bfd_sent.inc();
                Ok(())
            }
            Err(e) => {
                self.pool.free(frame.addr);
                Err(tx_refused_reason(e))
            }
        }
    }

    /// A multihop peer, routed as a transit packet to it would be: LPM →
    /// group → first live tier → member by the flow hash → next hop.
    fn route(&self, tx: &BfdTx) -> Result<Egress, DropReason> {
        let fib = self.fib.ok_or(DropReason::FibInconsistent)?;
        let (target, hash) = match (tx.src, tx.dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => (
                fib.lookup_v4(u32::from(dst)),
                self.hasher.hash_v4(
                    u32::from(src),
                    u32::from(dst),
                    IP_PROTOCOL_UDP,
                    tx.src_port,
                    tx.dst_port,
                ),
            ),
            (IpAddr::V6(src), IpAddr::V6(dst)) => (
                fib.lookup_v6(u128::from(dst)),
                self.hasher.hash_v6(
                    u128::from(src),
                    u128::from(dst),
                    IP_PROTOCOL_UDP,
                    tx.src_port,
                    tx.dst_port,
                ),
            ),
            _ => return Err(DropReason::NoRoute),
        };
        let group = match target {
            Some(RouteTarget::Group(group)) => group,
            Some(RouteTarget::Blackhole) => return Err(DropReason::Blackhole),
            Some(RouteTarget::Unreachable) => return Err(DropReason::Unreachable),
            // A peer that is one of our own addresses has no way out.
            Some(RouteTarget::Local) | None => return Err(DropReason::NoRoute),
        };
        let nexthop = select(fib, self.liveness, group, hash)?;
        Ok(Egress {
            port: nexthop.port,
            neighbor: nexthop.gateway.unwrap_or(tx.dst),
            mac: nexthop.mac,
        })
    }

    /// The neighbor's MAC from this core's table; without one, starts
    /// resolution (as a transit packet would) and drops this packet.
    fn neighbor_mac(&mut self, port: PortId, neighbor: IpAddr) -> Result<MacAddr, DropReason> {
        if let Some(mac) = self.neighbors.lookup(port, neighbor, self.now_ns) {
            return Ok(mac);
        }
        if self.neighbors.request(port, neighbor, self.now_ns) {
            let sol = Solicitation {
                port,
                target: neighbor,
                unicast_to: None,
            };
            queue_solicitation(&sol, self.ports, self.counters, self.pool, self.out);
        }
        Err(DropReason::BfdNeighborUnresolved)
    }
}
