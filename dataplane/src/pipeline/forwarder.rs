//! The forwarding pipeline of one dataplane core, VPP style: a burst of up
//! to 64 frames goes through each stage in one tight loop before the next
//! stage starts — classify (parse + validate), LPM (the whole burst's
//! lookups back to back, so their cache misses overlap), then resolve and
//! rewrite (group → live tier → hashed member → MACs, TTL, checksum) into
//! the egress port's transmit queue.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use crate::bfd::{BfdCommand, BfdCommandError, BfdEngine, BfdEvent};
use crate::fib::{FibReader, FibSnapshot, FlowHasher, Liveness, NextHop, RouteTarget};
use crate::packet::MacAddr;
use crate::packet::ipv4::Ipv4Packet;
use crate::packet::ipv6::Ipv6Packet;
use crate::port::{Burst, Frame, FramePool, PortId, TxOutcome};

use super::classify::{
    HeaderFacts, L3_OFFSET, Verdict, classify, is_link_local, punt_class_v4, punt_class_v6,
};
use super::counters::{CoreCounters, DropReason, PuntClass};
use super::fragment::fragment_ipv4;
use super::icmp_error::{Icmpv4Error, Icmpv6Error};
use super::neighbor_wait::{NeighborWaitQueue, Waiting};
use super::output::{BurstOutput, BurstVec, Punted, TxRefused};
use super::port_table::PortConfig;
use super::rate_limit::TokenBucket;
use super::rewrite::{rewrite_ipv4, rewrite_ipv6};
use crate::neighbor::{Learned, NeighborConfig, NeighborTable, Solicitation, build_solicitation};

/// Tunables of one core's pipeline.
#[derive(Debug, Clone)]
pub struct ForwarderConfig {
    /// ICMP errors per second per address family (RFC 1812 §4.3.2.8,
    /// RFC 4443 §2.4(f)), and the burst allowed above that rate.
    pub icmp_errors_per_sec: u32,
    pub icmp_error_burst: u32,
    /// Packets held waiting for ARP/ND, and for how long at most.
    pub neighbor_queue_len: usize,
    pub neighbor_wait_ns: u64,
    /// Seed of the ECMP flow hash, and whether both directions of a flow
    /// hash alike.
    pub hash_seed: u64,
    pub symmetric_hash: bool,
    /// Most fragments one packet may be cut into.
    pub max_fragments: usize,
    /// ARP / neighbor discovery timers and limits.
    pub neighbor: NeighborConfig,
    /// Control-plane policing: per punt class, packets per second and
    /// burst allowed towards the host side, so a flood of one kind (an ARP
    /// storm, a TCP flood at the router's address) neither starves the
    /// others nor costs the forwarding core more than this.
    pub punt_limits: [PuntLimit; PuntClass::COUNT],
    /// Most BFD sessions this core's engine holds; its tables are sized
    /// for that up front, so the forwarding loop never grows one.
    pub bfd_max_sessions: usize,
    /// Seed of the BFD engine's discriminators, source ports, sequence
    /// numbers and jitter (RFC 5880 §6.8.1 wants discriminators random):
    /// set a random one in production, a fixed one in tests.
    pub bfd_seed: u64,
}

/// The knobs of a running forwarder a configuration commit may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwarderTuning {
    pub icmp_errors_per_sec: u32,
    pub icmp_error_burst: u32,
    pub hash_seed: u64,
    pub symmetric_hash: bool,
    pub neighbor_reachable_ns: u64,
    pub neighbor_retrans_ns: u64,
}

/// A packets-per-second limit with a burst.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PuntLimit {
    pub per_sec: u32,
    pub burst: u32,
}

impl PuntLimit {
    const fn new(per_sec: u32, burst: u32) -> Self {
        Self { per_sec, burst }
    }

    /// Defaults per class, in [`PuntClass::ALL`] order: resolution and
    /// routing protocols get what a busy LAN and fast timers need; traffic
    /// to the router's addresses (BGP's TCP, ssh) the most.
    pub const DEFAULTS: [PuntLimit; PuntClass::COUNT] = [
        PuntLimit::new(2_000, 500),   // arp
        PuntLimit::new(2_000, 500),   // nd
        PuntLimit::new(5_000, 1_000), // ospf
        PuntLimit::new(5_000, 1_000), // vrrp
        // BFD goes to the core's own engine, not the host, and costs it a
        // parse and a hash lookup — about what forwarding the packet would
        // — so this only caps a flood: 500 sessions at 1 ms each still pass.
        PuntLimit::new(500_000, 20_000), // bfd
        PuntLimit::new(50_000, 5_000),   // local
        PuntLimit::new(2_000, 500),      // link_local
        PuntLimit::new(1_000, 200),      // other
    ];
}

impl Default for ForwarderConfig {
    fn default() -> Self {
        Self {
            icmp_errors_per_sec: 1000,
            icmp_error_burst: 100,
            neighbor_queue_len: 256,
            neighbor_wait_ns: 3_000_000_000,
            hash_seed: 0x7672_6f75_7465_7221,
            symmetric_hash: false,
            max_fragments: 64,
            neighbor: NeighborConfig::default(),
            punt_limits: PuntLimit::DEFAULTS,
            bfd_max_sessions: 1024,
            bfd_seed: 0x6266_645f_7365_6564,
        }
    }
}

/// One core's forwarding state.
pub struct Forwarder {
    pub(super) fib: FibReader,
    pub(super) core: CoreState,
}

pub(super) struct CoreState {
    pub(super) ports: Vec<PortConfig>,
    pub(super) liveness: Arc<Liveness>,
    pub(super) hasher: FlowHasher,
    pub(super) counters: Arc<CoreCounters>,
    pub(super) icmp_v4: TokenBucket,
    pub(super) icmp_v6: TokenBucket,
    pub(super) punt_limits: [TokenBucket; PuntClass::COUNT],
    pub(super) neighbor_wait: NeighborWaitQueue,
    pub(super) neighbors: NeighborTable,
    pub(super) solicitations: Vec<Solicitation>,
    pub(super) failed_neighbors: Vec<(PortId, IpAddr)>,
    pub(super) fragments: Vec<Frame>,
    pub(super) released: Vec<Waiting>,
    pub(super) max_fragments: usize,
    /// BFD runs here, in the forwarding loop (see [`super::bfd_io`]).
    pub(super) bfd: BfdEngine,
}

/// A frame that passed stage 1 and waits for its lookup result.
#[derive(Clone, Copy)]
struct Candidate {
    frame: Frame,
    facts: HeaderFacts,
}

impl Forwarder {
    pub fn new(
        fib: FibReader,
        ports: Vec<PortConfig>,
        config: &ForwarderConfig,
        now_ns: u64,
    ) -> Self {
        let liveness = Arc::clone(fib.liveness());
        let counters = Arc::new(CoreCounters::new(ports.len()));
        let core = CoreState {
            ports,
            liveness,
            hasher: FlowHasher::new(config.hash_seed, config.symmetric_hash),
            counters,
            icmp_v4: TokenBucket::new(config.icmp_errors_per_sec, config.icmp_error_burst, now_ns),
            icmp_v6: TokenBucket::new(config.icmp_errors_per_sec, config.icmp_error_burst, now_ns),
            punt_limits: std::array::from_fn(|i| {
                let limit = config.punt_limits[i];
                TokenBucket::new(limit.per_sec, limit.burst, now_ns)
            }),
            neighbors: NeighborTable::new(config.neighbor.clone()),
            solicitations: Vec::new(),
            failed_neighbors: Vec::new(),
            neighbor_wait: NeighborWaitQueue::new(
                config.neighbor_queue_len,
                config.neighbor_wait_ns,
            ),
            fragments: Vec::with_capacity(config.max_fragments),
            released: Vec::with_capacity(config.neighbor_queue_len),
            max_fragments: config.max_fragments,
            bfd: BfdEngine::new(config.bfd_seed, config.bfd_max_sessions),
        };
        Self { fib, core }
    }

    /// This core's counters; readable from any thread.
    pub fn counters(&self) -> &Arc<CoreCounters> {
        &self.core.counters
    }

    pub fn ports(&self) -> &[PortConfig] {
        &self.core.ports
    }

    /// Runs one received burst through the pipeline. Every frame ends up
    /// queued in `out` (to a port or the host side), held for neighbor
    /// resolution, or freed with a drop reason counted.
    pub fn process_burst(
        &mut self,
        rx_port: PortId,
        frames: &mut Burst,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        self.core.counters.bursts.inc();
        self.core.counters.set_rx_port(Some(usize::from(rx_port)));
        match self.fib.enter() {
            Some(fib) => self.core.process(&fib, rx_port, frames, pool, out, now_ns),
            None => {
                // The writer is gone (shutdown): nothing can be routed.
                for f in frames.drain(..) {
                    self.core.counters.count_drop(DropReason::FibInconsistent);
                    pool.free(f.addr);
                }
            }
        }
        self.core.counters.set_rx_port(None);
    }

    /// The MAC of `target` on `port` is known (a static neighbor, or told
    /// by the control plane): remember it and send what waited for it.
    pub fn neighbor_resolved(
        &mut self,
        port: PortId,
        target: IpAddr,
        mac: MacAddr,
        pool: &mut FramePool,
        out: &mut BurstOutput,
    ) {
        self.core.neighbors.add_static(port, target, mac);
        self.core.release(port, target, mac, pool, out);
    }

    /// A frame the host side (the port's TAP twin) sends out of `port`:
    /// snooped for ARP/ND (RFC 4861 lets us learn from our own host's
    /// answers too) and queued on the port as it is.
    pub fn from_host(
        &mut self,
        port: PortId,
        frame: Frame,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        self.core.snoop(port, frame, pool, out, now_ns);
        if let Err(e) = out.push_tx(port, frame) {
            self.core.counters.count_drop(tx_refused_reason(e));
            pool.free(frame.addr);
        }
    }

    /// Neighbor timers: retransmits and probes go out, neighbors that never
    /// answered take their waiting packets with them.
    pub fn poll_neighbors(&mut self, now_ns: u64, pool: &mut FramePool, out: &mut BurstOutput) {
        let core = &mut self.core;
        if now_ns < core.neighbors.next_timer_ns() {
            return;
        }
        let mut sols = std::mem::take(&mut core.solicitations);
        let mut failed = std::mem::take(&mut core.failed_neighbors);
        core.neighbors
            .poll_with_failures(now_ns, &mut sols, &mut failed);
        for sol in sols.drain(..) {
            core.solicit(&sol, pool, out);
        }
        for (port, ip) in failed.drain(..) {
            core.released.clear();
            core.neighbor_wait.take_for(port, ip, &mut core.released);
            for w in core.released.drain(..) {
                core.counters.count_drop(DropReason::NeighborFailed);
                pool.free(w.frame.addr);
            }
        }
        core.solicitations = sols;
        core.failed_neighbors = failed;
    }

    /// The neighbor table, for `show neighbors`.
    pub fn neighbors(&self) -> &NeighborTable {
        &self.core.neighbors
    }

    /// Applies new ICMP error limits, ECMP hashing and neighbor timers
    /// while forwarding (a configuration commit). A new hash seed moves
    /// flows between ECMP members once, as on any router.
    pub fn retune(&mut self, tuning: &ForwarderTuning, now_ns: u64) {
        let c = &mut self.core;
        c.icmp_v4 = TokenBucket::new(tuning.icmp_errors_per_sec, tuning.icmp_error_burst, now_ns);
        c.icmp_v6 = TokenBucket::new(tuning.icmp_errors_per_sec, tuning.icmp_error_burst, now_ns);
        c.hasher = FlowHasher::new(tuning.hash_seed, tuning.symmetric_hash);
        c.neighbors
            .set_timers(tuning.neighbor_reachable_ns, tuning.neighbor_retrans_ns);
    }

    /// Drops the packets that waited for a neighbor longer than allowed.
    pub fn expire_waiting(&mut self, now_ns: u64, pool: &mut FramePool) {
        let core = &mut self.core;
        core.released.clear();
        core.neighbor_wait.expire(now_ns, &mut core.released);
        for w in core.released.drain(..) {
            core.counters.count_drop(DropReason::NeighborTimeout);
            pool.free(w.frame.addr);
        }
    }

    /// The (port, address) pairs that packets are waiting to resolve.
    pub fn waiting_targets(&self) -> Vec<(PortId, IpAddr)> {
        self.core.neighbor_wait.targets()
    }

    pub fn waiting_len(&self) -> usize {
        self.core.neighbor_wait.len()
    }

    /// Records what a port's transmit did with the frames queued for it.
    pub fn record_tx(&self, port: PortId, outcome: TxOutcome) {
        if let Some(pc) = self.core.counters.ports.get(port as usize) {
            pc.tx_packets.add(u64::from(outcome.sent));
            pc.tx_bytes.add(outcome.sent_bytes);
            pc.tx_dropped.add(u64::from(outcome.dropped));
        }
    }

    /// This core's BFD engine: sessions, counters, next deadline.
    pub fn bfd(&self) -> &BfdEngine {
        &self.core.bfd
    }

    /// Applies a control-plane command to this core's BFD engine; guarded
    /// next hops' liveness changes here (see [`BfdEngine::apply`]).
    pub fn apply_bfd(&mut self, cmd: BfdCommand, now_ns: u64) -> Result<(), BfdCommandError> {
        self.core.bfd.apply(cmd, now_ns, &self.core.liveness)
    }

    /// Hands every queued BFD state change to `out`, oldest first.
    pub fn drain_bfd_events(&mut self, out: &mut impl FnMut(BfdEvent)) {
        self.core.bfd.drain_events(out);
    }
}

impl CoreState {
    fn process(
        &mut self,
        fib: &FibSnapshot,
        rx_port: PortId,
        frames: &mut Burst,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        let Some(port) = self.ports.get(rx_port as usize) else {
            for f in frames.drain(..) {
                self.counters.count_drop(DropReason::NoSuchPort);
                pool.free(f.addr);
            }
            return;
        };
        let port_mac = port.mac;

        // Stage 1: classify.
        let mut v4_dst = BurstVec::<u32>::new();
        let mut v4 = BurstVec::<Candidate>::new();
        let mut v6_dst = BurstVec::<u128>::new();
        let mut v6 = BurstVec::<Candidate>::new();
        if let Some(pc) = self.counters.ports.get(rx_port as usize) {
            pc.rx_packets.add(frames.len() as u64);
            pc.rx_bytes
                .add(frames.iter().map(|f| u64::from(f.len)).sum::<u64>());
        }
        for frame in frames.drain(..) {
            match classify(pool.data(frame), port_mac, &self.hasher) {
                Verdict::Drop(reason) => {
                    self.counters.count_drop(reason);
                    pool.free(frame.addr);
                }
                Verdict::Punt(class) => self.punt(frame, rx_port, class, pool, out, now_ns),
                Verdict::RouteV4 { dst, facts } => {
                    v4_dst.push(dst);
                    v4.push(Candidate { frame, facts });
                }
                Verdict::RouteV6 { dst, facts } => {
                    v6_dst.push(dst);
                    v6.push(Candidate { frame, facts });
                }
            }
        }

        // Stage 2: the burst's lookups back to back.
        let mut v4_val = [0u32; crate::port::MAX_BURST];
        let mut v6_val = [0u32; crate::port::MAX_BURST];
        fib.lookup_v4_batch(&v4_dst, &mut v4_val[..v4_dst.len()]);
        fib.lookup_v6_batch(&v6_dst, &mut v6_val[..v6_dst.len()]);

        // Stage 3: resolve, rewrite, queue.
        for ((c, value), dst) in v4.iter().zip(v4_val).zip(v4_dst) {
            let target = RouteTarget::decode(value);
            self.route_v4(fib, rx_port, *c, dst, target, pool, out, now_ns);
        }
        for ((c, value), dst) in v6.iter().zip(v6_val).zip(v6_dst) {
            let target = RouteTarget::decode(value);
            self.route_v6(fib, rx_port, *c, dst, target, pool, out, now_ns);
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn route_v4(
        &mut self,
        fib: &FibSnapshot,
        rx_port: PortId,
        c: Candidate,
        dst: u32,
        target: Option<RouteTarget>,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        let frame = c.frame;
        let group = match target {
            None => {
                return self.reject_v4(
                    fib,
                    rx_port,
                    frame,
                    DropReason::NoRoute,
                    Icmpv4Error::NET_UNREACHABLE,
                    pool,
                    out,
                    now_ns,
                );
            }
            Some(RouteTarget::Local) => {
                let class = match Ipv4Packet::new_checked(l3(pool.data(frame))) {
                    Ok(ip) => punt_class_v4(&ip),
                    Err(_) => PuntClass::Local,
                };
                return self.punt(frame, rx_port, class, pool, out, now_ns);
            }
            Some(RouteTarget::Blackhole) => {
                return self.discard(frame, DropReason::Blackhole, pool);
            }
            Some(RouteTarget::Unreachable) => {
                return self.reject_v4(
                    fib,
                    rx_port,
                    frame,
                    DropReason::Unreachable,
                    Icmpv4Error::HOST_UNREACHABLE,
                    pool,
                    out,
                    now_ns,
                );
            }
            Some(RouteTarget::Group(g)) => g,
        };
        let HeaderFacts {
            hash,
            ip_len: total_len,
            ttl,
            dont_frag,
        } = c.facts;
        // RFC 1812 §5.3.1: a packet whose TTL would reach 0 is not forwarded.
        if ttl <= 1 {
            return self.reject_v4(
                fib,
                rx_port,
                frame,
                DropReason::TtlExpired,
                Icmpv4Error::TTL_EXCEEDED,
                pool,
                out,
                now_ns,
            );
        }
        let nexthop = match select(fib, &self.liveness, group, hash) {
            Ok(nh) => nh,
            Err(DropReason::NoLiveNextHop) => {
                return self.reject_v4(
                    fib,
                    rx_port,
                    frame,
                    DropReason::NoLiveNextHop,
                    Icmpv4Error::HOST_UNREACHABLE,
                    pool,
                    out,
                    now_ns,
                );
            }
            Err(reason) => return self.discard(frame, reason, pool),
        };
        let Some((mtu, port_mac)) = self
            .ports
            .get(nexthop.port as usize)
            .map(|p| (p.mtu, p.mac))
        else {
            return self.discard(frame, DropReason::NoSuchPort, pool);
        };
        if total_len > mtu && dont_frag {
            // Checked before the TTL rewrite: the error quotes the packet
            // as it arrived.
            let error = Icmpv4Error::frag_needed(mtu);
            return self.reject_v4(
                fib,
                rx_port,
                frame,
                DropReason::MtuExceeded,
                error,
                pool,
                out,
                now_ns,
            );
        }
        let dst = IpAddr::V4(Ipv4Addr::from(dst));
        if total_len <= mtu {
            // The common case: next hop resolved, one rewrite, queued.
            let mac = match nexthop.mac {
                Some(mac) => Some(mac),
                None => {
                    let target = nexthop.gateway.unwrap_or(dst);
                    self.neighbors.lookup(nexthop.port, target, now_ns)
                }
            };
            if let Some(mac) = mac
                && rewrite_ipv4(pool.data_mut(frame), port_mac, mac)
            {
                return self.queue_forwarded(nexthop.port, frame, pool, out);
            }
        }
        Ipv4Packet::new_unchecked(l3_mut(pool.data_mut(frame))).decrement_ttl();
        if total_len > mtu {
            return self.fragment_and_send(frame, mtu, nexthop, dst, pool, out, now_ns);
        }
        match self.transmit(frame, nexthop, dst, pool, out, now_ns) {
            Ok(()) => self.counters.forwarded.inc(),
            Err(reason) => self.counters.count_drop(reason),
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn route_v6(
        &mut self,
        fib: &FibSnapshot,
        rx_port: PortId,
        c: Candidate,
        dst: u128,
        target: Option<RouteTarget>,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        let frame = c.frame;
        let group = match target {
            None => {
                return self.reject_v6(
                    fib,
                    rx_port,
                    frame,
                    DropReason::NoRoute,
                    Icmpv6Error::NO_ROUTE,
                    pool,
                    out,
                    now_ns,
                );
            }
            Some(RouteTarget::Local) => {
                let bytes = l3(pool.data(frame));
                let class = match Ipv6Packet::new_checked(bytes) {
                    Ok(ip) => punt_class_v6(&ip, bytes),
                    Err(_) => PuntClass::Local,
                };
                return self.punt(frame, rx_port, class, pool, out, now_ns);
            }
            Some(RouteTarget::Blackhole) => {
                return self.discard(frame, DropReason::Blackhole, pool);
            }
            Some(RouteTarget::Unreachable) => {
                return self.reject_v6(
                    fib,
                    rx_port,
                    frame,
                    DropReason::Unreachable,
                    Icmpv6Error::REJECT_ROUTE,
                    pool,
                    out,
                    now_ns,
                );
            }
            Some(RouteTarget::Group(g)) => g,
        };
        let hop_limit = c.facts.ttl;
        let total_len = usize::from(c.facts.ip_len);
        let src = Ipv6Packet::new_unchecked(l3(pool.data(frame))).src_addr();
        if hop_limit <= 1 {
            return self.reject_v6(
                fib,
                rx_port,
                frame,
                DropReason::TtlExpired,
                Icmpv6Error::HOP_LIMIT_EXCEEDED,
                pool,
                out,
                now_ns,
            );
        }
        // RFC 4291 §2.5.6: a link-local source never leaves its link.
        if is_link_local(&src) {
            return self.reject_v6(
                fib,
                rx_port,
                frame,
                DropReason::SourceBeyondScope,
                Icmpv6Error::BEYOND_SCOPE,
                pool,
                out,
                now_ns,
            );
        }
        let nexthop = match select(fib, &self.liveness, group, c.facts.hash) {
            Ok(nh) => nh,
            Err(DropReason::NoLiveNextHop) => {
                return self.reject_v6(
                    fib,
                    rx_port,
                    frame,
                    DropReason::NoLiveNextHop,
                    Icmpv6Error::ADDRESS_UNREACHABLE,
                    pool,
                    out,
                    now_ns,
                );
            }
            Err(reason) => return self.discard(frame, reason, pool),
        };
        let Some((mtu, port_mac)) = self
            .ports
            .get(nexthop.port as usize)
            .map(|p| (p.mtu, p.mac))
        else {
            return self.discard(frame, DropReason::NoSuchPort, pool);
        };
        // RFC 8200 §5: routers never fragment IPv6; the source must.
        if total_len > usize::from(mtu) {
            let error = Icmpv6Error::packet_too_big(mtu);
            return self.reject_v6(
                fib,
                rx_port,
                frame,
                DropReason::MtuExceeded,
                error,
                pool,
                out,
                now_ns,
            );
        }
        let dst = IpAddr::V6(Ipv6Addr::from(dst));
        let mac = match nexthop.mac {
            Some(mac) => Some(mac),
            None => {
                let target = nexthop.gateway.unwrap_or(dst);
                self.neighbors.lookup(nexthop.port, target, now_ns)
            }
        };
        if let Some(mac) = mac
            && rewrite_ipv6(pool.data_mut(frame), port_mac, mac)
        {
            return self.queue_forwarded(nexthop.port, frame, pool, out);
        }
        Ipv6Packet::new_unchecked(l3_mut(pool.data_mut(frame))).set_hop_limit(hop_limit - 1);
        match self.transmit(frame, nexthop, dst, pool, out, now_ns) {
            Ok(()) => self.counters.forwarded.inc(),
            Err(reason) => self.counters.count_drop(reason),
        }
    }

    /// Writes the Ethernet header for `nexthop` and queues the frame on its
    /// port, or holds it until the neighbor's MAC is known.
    #[inline(always)]
    pub(super) fn transmit(
        &mut self,
        frame: Frame,
        nexthop: &NextHop,
        dst: IpAddr,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) -> Result<(), DropReason> {
        let Some(port) = self.ports.get(nexthop.port as usize) else {
            pool.free(frame.addr);
            return Err(DropReason::NoSuchPort);
        };
        let data = pool.data_mut(frame);
        if let Some(src) = data.get_mut(6..12) {
            src.copy_from_slice(&port.mac.octets());
        }
        let target = nexthop.gateway.unwrap_or(dst);
        // The FIB may carry the MAC (the control plane resolved it); else
        // this core's own neighbor table.
        let mac = match nexthop.mac {
            Some(mac) => Some(mac),
            None => self.neighbors.lookup(nexthop.port, target, now_ns),
        };
        if let Some(mac) = mac {
            if let Some(d) = data.get_mut(0..6) {
                d.copy_from_slice(&mac.octets());
            }
            return out.push_tx(nexthop.port, frame).map_err(|e| {
                pool.free(frame.addr);
                tx_refused_reason(e)
            });
        }
        let waiting = Waiting {
            frame,
            port: nexthop.port,
            target,
            since_ns: now_ns,
        };
        if let Err(w) = self.neighbor_wait.push(waiting) {
            pool.free(w.frame.addr);
            return Err(DropReason::NeighborQueueFull);
        }
        self.counters.neighbor_queued.inc();
        if self.neighbors.request(nexthop.port, target, now_ns) {
            let sol = Solicitation {
                port: nexthop.port,
                target,
                unicast_to: None,
            };
            self.solicit(&sol, pool, out);
        }
        Ok(())
    }

    /// Queues a rewritten transit frame on its egress port.
    #[inline(always)]
    fn queue_forwarded(
        &mut self,
        port: PortId,
        frame: Frame,
        pool: &mut FramePool,
        out: &mut BurstOutput,
    ) {
        match out.push_tx(port, frame) {
            Ok(()) => self.counters.forwarded.inc(),
            Err(e) => {
                self.counters.count_drop(tx_refused_reason(e));
                pool.free(frame.addr);
            }
        }
    }

    /// Sends every packet waiting for `ip` on `port` to `mac`.
    fn release(
        &mut self,
        port: PortId,
        ip: IpAddr,
        mac: MacAddr,
        pool: &mut FramePool,
        out: &mut BurstOutput,
    ) {
        self.released.clear();
        self.neighbor_wait.take_for(port, ip, &mut self.released);
        for w in self.released.drain(..) {
            if let Some(hdr) = pool.data_mut(w.frame).get_mut(0..6) {
                hdr.copy_from_slice(&mac.octets());
            }
            match out.push_tx(w.port, w.frame) {
                Ok(()) => self.counters.forwarded.inc(),
                Err(e) => {
                    self.counters.count_drop(tx_refused_reason(e));
                    pool.free(w.frame.addr);
                }
            }
        }
    }

    /// Learns from an ARP/ND frame seen on `port` (either direction).
    fn snoop(
        &mut self,
        port: PortId,
        frame: Frame,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        let Some(port_cfg) = self.ports.get(port as usize) else {
            return;
        };
        let learned = self
            .neighbors
            .learn(port, port_cfg, pool.data(frame), now_ns);
        if let Some(Learned { port, ip, mac }) = learned {
            self.release(port, ip, mac, pool, out);
        }
    }

    /// Builds an ARP request / neighbor solicitation and queues it.
    fn solicit(&mut self, sol: &Solicitation, pool: &mut FramePool, out: &mut BurstOutput) {
        queue_solicitation(sol, &self.ports, &self.counters, pool, out);
    }

    #[allow(clippy::too_many_arguments)]
    fn fragment_and_send(
        &mut self,
        frame: Frame,
        mtu: u16,
        nexthop: &NextHop,
        dst: IpAddr,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        let mut fragments = std::mem::take(&mut self.fragments);
        fragments.clear();
        let result = fragment_ipv4(
            pool,
            frame,
            L3_OFFSET,
            mtu,
            &mut fragments,
            self.max_fragments,
        );
        pool.free(frame.addr);
        match result {
            Ok(()) => {
                let mut all_sent = true;
                for f in fragments.drain(..) {
                    match self.transmit(f, nexthop, dst, pool, out, now_ns) {
                        Ok(()) => self.counters.fragments_sent.inc(),
                        Err(reason) => {
                            all_sent = false;
                            self.counters.count_drop(reason);
                        }
                    }
                }
                if all_sent {
                    self.counters.forwarded.inc();
                }
            }
            Err(_) => self.counters.count_drop(DropReason::FragmentationFailed),
        }
        self.fragments = fragments;
    }

    fn punt(
        &mut self,
        frame: Frame,
        port: PortId,
        class: PuntClass,
        pool: &mut FramePool,
        out: &mut BurstOutput,
        now_ns: u64,
    ) {
        if matches!(class, PuntClass::Arp | PuntClass::NeighborDiscovery) {
            // Learning costs little and must not wait for the host: even a
            // policed ARP reply still resolves our own next hop.
            self.snoop(port, frame, pool, out, now_ns);
        }
        if !self.punt_limits[class as usize].allow(now_ns) {
            return self.discard(frame, DropReason::PuntRateLimited, pool);
        }
        if class == PuntClass::Bfd {
            // BFD is this core's business, never the host's.
            return self.receive_bfd(frame, port, pool, now_ns);
        }
        if out.push_punt(Punted { frame, port, class }) {
            self.counters.punt(class);
        } else {
            self.discard(frame, DropReason::PuntQueueFull, pool);
        }
    }

    #[inline]
    fn discard(&self, frame: Frame, reason: DropReason, pool: &mut FramePool) {
        self.counters.count_drop(reason);
        pool.free(frame.addr);
    }
}

/// Builds an ARP request / neighbor solicitation and queues it on its port.
pub(super) fn queue_solicitation(
    sol: &Solicitation,
    ports: &[PortConfig],
    counters: &CoreCounters,
    pool: &mut FramePool,
    out: &mut BurstOutput,
) {
    let Some(port_cfg) = ports.get(sol.port as usize) else {
        return;
    };
    let Some(mut frame) = pool.alloc() else {
        counters.count_drop(DropReason::NoBuffer);
        return;
    };
    let Some(len) = build_solicitation(sol, port_cfg, pool.room_mut(frame)) else {
        pool.free(frame.addr);
        return;
    };
    frame.len = len as u32;
    match out.push_tx(sol.port, frame) {
        Ok(()) => counters.solicitations_sent.inc(),
        Err(e) => {
            counters.count_drop(tx_refused_reason(e));
            pool.free(frame.addr);
        }
    }
}

/// Group → first tier with a live member → hashed member → next hop.
#[inline(always)]
pub(super) fn select<'f>(
    fib: &'f FibSnapshot,
    liveness: &Liveness,
    group: crate::fib::GroupId,
    hash: u32,
) -> Result<&'f NextHop, DropReason> {
    let group = fib.group(group).ok_or(DropReason::FibInconsistent)?;
    let selected = group
        .select(hash, liveness)
        .ok_or(DropReason::NoLiveNextHop)?;
    fib.nexthop(selected.nexthop)
        .ok_or(DropReason::FibInconsistent)
}

pub(super) fn tx_refused_reason(e: TxRefused) -> DropReason {
    match e {
        TxRefused::NoSuchPort => DropReason::NoSuchPort,
        TxRefused::Full => DropReason::TxQueueFull,
    }
}

#[inline]
pub(super) fn l3(frame: &[u8]) -> &[u8] {
    frame.get(L3_OFFSET..).unwrap_or(&[])
}

#[inline]
fn l3_mut(frame: &mut [u8]) -> &mut [u8] {
    frame.get_mut(L3_OFFSET..).unwrap_or(&mut [])
}
