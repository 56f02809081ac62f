//! What the management API and `/metrics` read: the running router's
//! configuration, FIB, counters and neighbor copy, put together by the
//! daemon ([`RouterState`]), and the answer to each `show` built from them.
//!
//! Routes are listed from the candidates the configuration makes
//! (connected subnets, the router's own addresses, static routes), each
//! checked against what the FIB holds for its prefix: `selected` is the
//! FIB's truth, not a re-derivation of the builder's rules. When the RIB
//! lands it becomes the source of the candidates.

use std::collections::{BTreeMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};

use controlplane::rib::{Rib, RouteKind};
use controlplane::route::{RouteNextHop, RouteSource as RibSource};
use dataplane::bfd::{EngineCounters, SessionStatus, State};
use dataplane::fib::{FibWriter, FlowHasher, GroupId, NextHopGroup, NextHopId, RouteTarget};
use dataplane::packet::MacAddr;
use dataplane::pipeline::{CoreCounters, DropReason, PuntClass};
use dataplane::port::PortId;
use ipnet::IpNet;
use serde_json::Value;

use super::api::{
    ApiError, BfdReply, BfdSession, BfdUnmatched, ConfigReply, CountersReply, ErrorCode,
    FamilyCounts, FibQuery, FibReply, FibVerdict, Flow, Group, Interface, InterfacesReply,
    LinkState, NamedPortCounters, Neighbor, NeighborHint, NeighborsReply, NextHop,
    NexthopGroupsReply, PortCounters, Request, Route, RouteSource, RoutesReply, Show, Target, Tier,
};
use super::config_control::ConfigControl;
use super::neighbor_snapshot::NeighborSnapshot;
use crate::config::{self, Config};

/// (tier, port, gateway, weight) of each next hop with a known port; a
/// recursive next hop shows through what it resolved to, in the FIB.
fn forward_hops(hops: &[RouteNextHop]) -> Vec<(u8, PortId, Option<IpAddr>, u32)> {
    hops.iter()
        .filter_map(|h| Some((h.tier, h.port?, h.gateway, h.weight)))
        .collect()
}

/// The dataplane's BFD sessions as last published.
#[derive(Debug, Clone)]
pub struct BfdStatus {
    pub sessions: Vec<SessionStatus>,
    pub counters: EngineCounters,
    /// When the copy was taken, on the dataplane's clock (the one
    /// `SessionStatus::since` is on).
    pub taken_at: u64,
    /// How long ago that was.
    pub age: std::time::Duration,
}

/// Where `show bfd` and `/metrics` read the sessions from.
pub trait BfdStatusSource: Send + Sync {
    /// `None` until the dataplane has published once.
    fn status(&self) -> Option<BfdStatus>;
}

/// RFC 5880 §4.1 state, as the API writes it.
fn bfd_state(state: State) -> String {
    match state {
        State::AdminDown => "admin_down".into(),
        State::Down => "down".into(),
        State::Init => "init".into(),
        State::Up => "up".into(),
    }
}

/// IP protocols whose first four bytes are ports the flow hash reads.
const PROTOCOLS_WITH_PORTS: [u8; 3] = [6, 17, 132];

/// Runtime facts of one port that the configuration does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortRuntime {
    pub twin: String,
    pub mac: MacAddr,
    /// XDP attach mode in use, as logged at start (`native`, `generic`).
    pub xdp_mode: String,
    /// AF_XDP bind mode in use (`zero-copy`, `copy`).
    pub bind_mode: String,
}

/// Carrier of a port by name: `None` when it cannot be read.
pub type CarrierFn = dyn Fn(&str) -> Option<bool> + Send + Sync;

/// The running router as the management side sees it. Port `i` of every
/// list is `config.ports[i]`, dataplane port id `i`.
pub struct RouterState {
    /// The running configuration; a commit swaps it whole.
    pub config: RwLock<Arc<Config>>,
    pub ports: Vec<PortRuntime>,
    /// Shared with the control loop, which is the FIB's only writer; held
    /// here only for the microseconds a `show` takes.
    pub fib: Arc<Mutex<FibWriter>>,
    pub counters: Arc<CoreCounters>,
    /// Punted frames the host twin would not take.
    pub host_drops: Arc<AtomicU64>,
    pub neighbors: Arc<NeighborSnapshot>,
    pub carrier: Box<CarrierFn>,
    /// Serves `{"config": …}` requests; `None` answers them `not_supported`.
    pub config_control: Option<Arc<dyn ConfigControl>>,
    /// The running RIB; `None` in an offline state, whose routes are the
    /// configuration's. Locked before `fib` when both are needed.
    pub rib: Option<Arc<Mutex<Rib>>>,
    /// The dataplane's BFD sessions; `None` when nothing publishes them.
    pub bfd: Option<Arc<dyn BfdStatusSource>>,
}

/// A route the configuration asks for, before asking the FIB.
struct Candidate {
    prefix: IpNet,
    source: RouteSource,
    distance: u8,
    wanted: Wanted,
}

enum Wanted {
    /// (tier, port, gateway, weight) of each next hop.
    Forward(Vec<(u8, PortId, Option<IpAddr>, u32)>),
    Local,
    Blackhole,
    Reject,
}

impl RouterState {
    /// A state for `config` with nothing running: the FIB built from it
    /// as the daemon builds it, every next hop live, counters at zero, no
    /// neighbors, carrier unreadable. For tests and tools that need the
    /// API's answers without ports.
    pub fn offline(config: Config) -> Result<Self, String> {
        let (mut fib, _readers) = FibWriter::new(dataplane::fib::FibConfig {
            // A small first level: an offline FIB needs no DIR-24-8 speed.
            v4_first_stride: 16,
            v6_first_stride: 16,
            max_nexthops: 1 << 12,
        });
        let names: Vec<String> = config.ports.iter().map(|p| p.name.clone()).collect();
        let index = |n: &str| {
            names
                .iter()
                .position(|x| x == n)
                .and_then(|i| PortId::try_from(i).ok())
        };
        let plan = crate::daemon::fib_builder::build(&mut fib, &config, &index)
            .map_err(|e| e.to_string())?;
        for (id, _) in &plan.nexthops {
            fib.liveness().set(*id, true);
        }
        let ports = config
            .ports
            .iter()
            .enumerate()
            .map(|(i, p)| PortRuntime {
                twin: crate::daemon::twin_name(&p.name),
                mac: MacAddr([0x02, 0, 0, 0, 0, u8::try_from(i + 1).unwrap_or(u8::MAX)]),
                xdp_mode: "offline".into(),
                bind_mode: "offline".into(),
            })
            .collect();
        Ok(Self {
            counters: Arc::new(CoreCounters::new(config.ports.len())),
            config: RwLock::new(Arc::new(config)),
            ports,
            fib: Arc::new(Mutex::new(fib)),
            host_drops: Arc::new(AtomicU64::new(0)),
            neighbors: Arc::new(NeighborSnapshot::new()),
            carrier: Box::new(|_| None),
            config_control: None,
            rib: None,
            bfd: None,
        })
    }

    /// Answers one request.
    pub fn answer(&self, request: &Request) -> Result<Value, ApiError> {
        let show = match request {
            Request::Show(show) => show,
            Request::Config(config) => {
                return super::config_control::dispatch(
                    self.config_control.as_deref(),
                    config.clone(),
                );
            }
        };
        match show {
            Show::Interfaces => to_value(&self.interfaces()),
            Show::Routes { prefix } => to_value(&self.routes(*prefix)),
            Show::Fib(query) => to_value(&self.fib_lookup(query)?),
            Show::NexthopGroups => to_value(&self.nexthop_groups()),
            Show::Neighbors => to_value(&self.neighbors()),
            Show::Counters => to_value(&self.counters()),
            Show::Config => to_value(&ConfigReply {
                config: Config::clone(&self.config()),
            }),
            Show::Static => to_value(&self.static_routes()),
            Show::Bfd { peer } => to_value(&self.bfd_sessions(*peer)),
        }
    }

    /// `show bfd`: every session, or those with `peer`.
    pub fn bfd_sessions(&self, peer: Option<IpAddr>) -> BfdReply {
        let Some(status) = self.bfd.as_ref().and_then(|b| b.status()) else {
            return BfdReply {
                sessions: Vec::new(),
                unmatched: BfdUnmatched::default(),
                snapshot_age_ms: None,
            };
        };
        let config = self.config();
        let age_ns = u64::try_from(status.age.as_nanos()).unwrap_or(u64::MAX);
        let sessions = status
            .sessions
            .iter()
            .filter(|s| peer.is_none_or(|p| s.key.peer == p))
            .map(|s| BfdSession {
                peer: s.key.peer,
                local: s.key.local,
                interface: s.key.port.map(|p| {
                    config
                        .ports
                        .get(usize::from(p))
                        .map_or_else(|| format!("port{p}"), |port| port.name.clone())
                }),
                multihop: s.key.multihop,
                state: bfd_state(s.state),
                remote_state: bfd_state(s.remote_state),
                local_discriminator: s.local_discriminator,
                remote_discriminator: s.remote_discriminator,
                for_ms: status
                    .taken_at
                    .saturating_sub(s.since)
                    .saturating_add(age_ns)
                    / 1_000_000,
                tx_interval_us: s.negotiated_tx_us,
                rx_interval_us: s.negotiated_rx_us,
                detect_time_us: s.detect_time_us,
                remote_detect_multiplier: s.remote_detect_mult,
                local_diag: s.local_diag.to_string(),
                remote_diag: s.remote_diag.to_string(),
                rx_packets: s.counters.rx,
                tx_packets: s.counters.tx,
                dropped: s.counters.dropped,
                auth_failures: s.counters.auth_failures,
                ttl_failures: s.counters.ttl_failures,
                flaps: s.flaps,
                dampened: s.dampened,
                guards_live: s.guards_live,
                udp_source_port: s.src_port,
            })
            .collect();
        BfdReply {
            sessions,
            unmatched: BfdUnmatched {
                malformed: status.counters.malformed,
                no_session: status.counters.no_session,
                events_dropped: status.counters.events_dropped,
            },
            snapshot_age_ms: Some(u64::try_from(status.age.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    /// The running configuration.
    pub fn config(&self) -> Arc<Config> {
        Arc::clone(&self.config.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Makes `config` the running configuration.
    pub fn set_config(&self, config: Arc<Config>) {
        *self.config.write().unwrap_or_else(PoisonError::into_inner) = config;
    }

    fn fib(&self) -> MutexGuard<'_, FibWriter> {
        // A panic elsewhere while holding the lock leaves the FIB as whole
        // as any publish does: reading it is still right.
        self.fib.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn port_name(&self, port: PortId) -> String {
        self.config()
            .ports
            .get(usize::from(port))
            .map_or_else(|| format!("port{port}"), |p| p.name.clone())
    }

    fn port_index(&self, name: &str) -> Option<PortId> {
        let index = self.config().ports.iter().position(|p| p.name == name)?;
        PortId::try_from(index).ok()
    }

    pub fn interfaces(&self) -> InterfacesReply {
        let interfaces = self
            .config()
            .ports
            .iter()
            .enumerate()
            .map(|(i, port)| {
                let runtime = self.ports.get(i);
                Interface {
                    name: port.name.clone(),
                    twin: runtime.map(|r| r.twin.clone()).unwrap_or_default(),
                    mac: runtime.map(|r| r.mac.to_string()).unwrap_or_default(),
                    mtu: port.mtu,
                    addresses: port.addresses.clone(),
                    link: match (self.carrier)(&port.name) {
                        Some(true) => LinkState::Up,
                        Some(false) => LinkState::Down,
                        None => LinkState::Unreadable,
                    },
                    xdp_mode: runtime.map(|r| r.xdp_mode.clone()).unwrap_or_default(),
                    bind_mode: runtime.map(|r| r.bind_mode.clone()).unwrap_or_default(),
                    queue: port.queues.first().copied().unwrap_or(0),
                    core: port.core,
                    counters: self.port_counters(i),
                }
            })
            .collect();
        InterfacesReply { interfaces }
    }

    fn port_counters(&self, index: usize) -> PortCounters {
        self.counters
            .ports
            .get(index)
            .map(|c| PortCounters {
                rx_packets: c.rx_packets.get(),
                rx_bytes: c.rx_bytes.get(),
                tx_packets: c.tx_packets.get(),
                tx_bytes: c.tx_bytes.get(),
                tx_dropped: c.tx_dropped.get(),
            })
            .unwrap_or_default()
    }

    /// Every candidate the RIB holds, or with no RIB those the
    /// configuration makes.
    fn candidates(&self) -> Vec<Candidate> {
        match &self.rib {
            Some(rib) => Self::rib_candidates(&rib.lock().unwrap_or_else(PoisonError::into_inner)),
            None => self.config_candidates(),
        }
    }

    fn rib_candidates(rib: &Rib) -> Vec<Candidate> {
        let mut out = Vec::new();
        for entry in rib.routes() {
            for view in &entry.candidates {
                let c = &view.candidate;
                let (source, wanted) = match (&c.source, &c.kind) {
                    (_, RouteKind::Local) => (RouteSource::Local, Wanted::Local),
                    (RibSource::Connected, RouteKind::Forward(hops)) => {
                        (RouteSource::Connected, Wanted::Forward(forward_hops(hops)))
                    }
                    (RibSource::Static, RouteKind::Forward(hops)) => {
                        (RouteSource::Static, Wanted::Forward(forward_hops(hops)))
                    }
                    (RibSource::Static, RouteKind::Blackhole) => {
                        (RouteSource::Static, Wanted::Blackhole)
                    }
                    (RibSource::Static, RouteKind::Reject) => (RouteSource::Static, Wanted::Reject),
                    // Sources `show routes` cannot name yet (OSPF, BGP)
                    // arrive with their protocols.
                    _ => continue,
                };
                out.push(Candidate {
                    prefix: entry.prefix,
                    source,
                    distance: c.distance,
                    wanted,
                });
            }
        }
        out
    }

    fn config_candidates(&self) -> Vec<Candidate> {
        let mut out = Vec::new();
        for (i, port) in self.config().ports.iter().enumerate() {
            let Ok(pid) = PortId::try_from(i) else {
                continue;
            };
            for addr in &port.addresses {
                out.push(Candidate {
                    prefix: addr.trunc(),
                    source: RouteSource::Connected,
                    distance: 0,
                    wanted: Wanted::Forward(vec![(0, pid, None, 1)]),
                });
                if let Ok(host) = IpNet::new(addr.addr(), addr.max_prefix_len()) {
                    out.push(Candidate {
                        prefix: host,
                        source: RouteSource::Local,
                        distance: 0,
                        wanted: Wanted::Local,
                    });
                }
            }
        }
        for route in &self.config().static_routes {
            let wanted = match &route.target {
                config::RouteTarget::Blackhole => Wanted::Blackhole,
                config::RouteTarget::Reject => Wanted::Reject,
                config::RouteTarget::NextHops(hops) => Wanted::Forward(
                    hops.iter()
                        .filter_map(|h| {
                            let port = self.port_index(&h.interface)?;
                            Some((h.tier, port, h.via, h.weight))
                        })
                        .collect(),
                ),
            };
            out.push(Candidate {
                prefix: route.prefix,
                source: RouteSource::Static,
                distance: route.distance,
                wanted,
            });
        }
        // As `show ip route` lists them: IPv4 first, by address then length;
        // candidates for one prefix stay in source order.
        out.sort_by_key(|c| {
            (
                c.prefix.addr().is_ipv6(),
                c.prefix.network(),
                c.prefix.prefix_len(),
            )
        });
        out
    }

    /// Every candidate route, each marked selected if it is what the FIB
    /// holds for its prefix.
    /// `candidates`, each marked selected if it is what the FIB holds for
    /// its prefix. The caller takes the candidates (locking the RIB) before
    /// it locks the FIB: the control plane locks them in that order too.
    fn all_routes(&self, fib: &FibWriter, candidates: Vec<Candidate>) -> Vec<Route> {
        let mut taken: HashSet<IpNet> = HashSet::new();
        candidates
            .into_iter()
            .map(|c| {
                let installed = fib.route(c.prefix);
                let selected = !taken.contains(&c.prefix)
                    && installed.is_some_and(|t| self.installs(fib, &c.wanted, t));
                let target = match installed {
                    Some(t) if selected => {
                        taken.insert(c.prefix);
                        self.target(fib, t)
                    }
                    _ => self.wanted_target(&c.wanted),
                };
                Route {
                    prefix: c.prefix,
                    source: c.source,
                    distance: c.distance,
                    selected,
                    target,
                }
            })
            .collect()
    }

    /// Whether the FIB's `installed` target is what `wanted` asks for.
    fn installs(&self, fib: &FibWriter, wanted: &Wanted, installed: RouteTarget) -> bool {
        match (wanted, installed) {
            (Wanted::Local, RouteTarget::Local)
            | (Wanted::Blackhole, RouteTarget::Blackhole)
            | (Wanted::Reject, RouteTarget::Unreachable) => true,
            (Wanted::Forward(hops), RouteTarget::Group(g)) => {
                let Some(group) = fib.group(g) else {
                    return false;
                };
                let mut have: Vec<_> = group
                    .tiers()
                    .zip(0u8..)
                    .flat_map(|(members, tier)| {
                        members.iter().map(move |m| (tier, m.nexthop, m.weight))
                    })
                    .filter_map(|(tier, id, weight)| {
                        let nh = fib.nexthop(id)?;
                        Some((tier, nh.port, nh.gateway, weight))
                    })
                    .collect();
                let mut want = hops.clone();
                have.sort();
                want.sort();
                have == want
            }
            _ => false,
        }
    }

    fn target(&self, fib: &FibWriter, installed: RouteTarget) -> Target {
        match installed {
            RouteTarget::Local => Target::Local,
            RouteTarget::Blackhole => Target::Blackhole,
            RouteTarget::Unreachable => Target::Reject,
            RouteTarget::Group(g) => Target::Forward {
                group: Some(g.0),
                nexthops: fib
                    .group(g)
                    .map(|group| {
                        self.tiers(fib, group, false)
                            .into_iter()
                            .flat_map(|t| t.nexthops)
                            .collect()
                    })
                    .unwrap_or_default(),
            },
        }
    }

    fn wanted_target(&self, wanted: &Wanted) -> Target {
        match wanted {
            Wanted::Local => Target::Local,
            Wanted::Blackhole => Target::Blackhole,
            Wanted::Reject => Target::Reject,
            Wanted::Forward(hops) => Target::Forward {
                group: None,
                nexthops: hops
                    .iter()
                    .map(|&(tier, port, via, weight)| NextHop {
                        id: None,
                        interface: self.port_name(port),
                        via,
                        tier,
                        weight,
                        live: None,
                        buckets: None,
                    })
                    .collect(),
            },
        }
    }

    fn nexthop(&self, fib: &FibWriter, id: NextHopId, tier: u8, weight: u32) -> NextHop {
        let nh = fib.nexthop(id);
        NextHop {
            id: Some(id.0),
            interface: nh.map_or_else(|| "?".into(), |n| self.port_name(n.port)),
            via: nh.and_then(|n| n.gateway),
            tier,
            weight,
            live: Some(fib.liveness().is_live(id)),
            buckets: None,
        }
    }

    fn tiers(&self, fib: &FibWriter, group: &NextHopGroup, buckets: bool) -> Vec<Tier> {
        group
            .tier_details()
            .zip(0u8..)
            .map(|(tier, index)| {
                let counts = tier.bucket_counts();
                let nexthops: Vec<NextHop> = tier
                    .members()
                    .iter()
                    .enumerate()
                    .map(|(i, m)| NextHop {
                        buckets: buckets.then(|| counts.get(i).copied().unwrap_or(0)),
                        ..self.nexthop(fib, m.nexthop, index, m.weight)
                    })
                    .collect();
                Tier {
                    tier: index,
                    live: nexthops.iter().any(|n| n.live == Some(true)),
                    nexthops,
                }
            })
            .collect()
    }

    /// `show routes [PREFIX]`: with a prefix, the routes equal to it or
    /// inside it.
    pub fn routes(&self, within: Option<IpNet>) -> RoutesReply {
        let candidates = self.candidates();
        let fib = self.fib();
        let (ipv4, ipv6) = fib.route_counts();
        let routes = self
            .all_routes(&fib, candidates)
            .into_iter()
            .filter(|r| within.is_none_or(|w| w.contains(&r.prefix)))
            .collect();
        RoutesReply {
            routes,
            fib_routes: FamilyCounts { ipv4, ipv6 },
        }
    }

    /// `show static`: every configured static route, installed or not (a
    /// route withdrawn because its next hops are unhealthy is listed, not
    /// selected).
    pub fn static_routes(&self) -> RoutesReply {
        let candidates: Vec<Candidate> = self
            .config_candidates()
            .into_iter()
            .filter(|c| c.source == RouteSource::Static)
            .collect();
        let fib = self.fib();
        let (ipv4, ipv6) = fib.route_counts();
        RoutesReply {
            routes: self.all_routes(&fib, candidates),
            fib_routes: FamilyCounts { ipv4, ipv6 },
        }
    }

    /// Selected routes by source, for `/metrics`.
    pub fn selected_routes_by_source(&self) -> BTreeMap<RouteSource, usize> {
        let candidates = self.candidates();
        let fib = self.fib();
        let mut counts: BTreeMap<RouteSource, usize> = [
            RouteSource::Connected,
            RouteSource::Local,
            RouteSource::Static,
        ]
        .into_iter()
        .map(|s| (s, 0))
        .collect();
        for route in self
            .all_routes(&fib, candidates)
            .into_iter()
            .filter(|r| r.selected)
        {
            *counts.entry(route.source).or_default() += 1;
        }
        counts
    }

    /// Routes in the FIB, by family.
    pub fn fib_route_counts(&self) -> FamilyCounts {
        let (ipv4, ipv6) = self.fib().route_counts();
        FamilyCounts { ipv4, ipv6 }
    }

    /// `show fib ADDR`: the lookup a packet of this flow gets right now.
    pub fn fib_lookup(&self, query: &FibQuery) -> Result<FibReply, ApiError> {
        let destination = query.address;
        let source = match (query.source, destination) {
            (None, IpAddr::V4(_)) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            (None, IpAddr::V6(_)) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
            (Some(s), d) if s.is_ipv4() == d.is_ipv4() => s,
            (Some(s), d) => {
                return Err(ApiError::new(
                    ErrorCode::InvalidRequest,
                    format!("source {s} and address {d} are of different IP versions"),
                ));
            }
        };
        let protocol = query.protocol.unwrap_or(0);
        let carries_ports = PROTOCOLS_WITH_PORTS.contains(&protocol);
        if !carries_ports && (query.source_port.is_some() || query.destination_port.is_some()) {
            return Err(ApiError::new(
                ErrorCode::InvalidRequest,
                format!(
                    "protocol {protocol} has no ports the hash reads; give protocol 6 (TCP), 17 (UDP) or 132 (SCTP)"
                ),
            ));
        }
        let source_port = query.source_port.unwrap_or(0);
        let destination_port = query.destination_port.unwrap_or(0);
        let hasher = FlowHasher::new(self.config().ecmp.hash_seed, self.config().ecmp.symmetric);
        let hash = match (source, destination) {
            (IpAddr::V4(s), IpAddr::V4(d)) => hasher.hash_v4(
                u32::from(s),
                u32::from(d),
                protocol,
                source_port,
                destination_port,
            ),
            (IpAddr::V6(s), IpAddr::V6(d)) => hasher.hash_v6(
                u128::from(s),
                u128::from(d),
                protocol,
                source_port,
                destination_port,
            ),
            // Families were matched above.
            _ => 0,
        };
        let mut reply = FibReply {
            flow: Flow {
                source,
                destination,
                protocol,
                source_port,
                destination_port,
                hash,
            },
            verdict: FibVerdict::NoRoute,
            matched: None,
            source: None,
            group: None,
            tiers: Vec::new(),
            live_tier: None,
            chosen: None,
            neighbor: None,
        };
        let candidates = self.candidates();
        let fib = self.fib();
        let Some((len, target)) = fib.lookup(destination) else {
            return Ok(reply);
        };
        let matched = IpNet::new(destination, len).map(|n| n.trunc()).ok();
        reply.matched = matched;
        reply.source = self
            .all_routes(&fib, candidates)
            .into_iter()
            .find(|r| r.selected && Some(r.prefix) == matched)
            .map(|r| r.source);
        reply.verdict = match target {
            RouteTarget::Local => FibVerdict::Local,
            RouteTarget::Blackhole => FibVerdict::Blackhole,
            RouteTarget::Unreachable => FibVerdict::Reject,
            RouteTarget::Group(g) => {
                reply.group = Some(g.0);
                match fib.group(g) {
                    None => FibVerdict::FibInconsistent,
                    Some(group) => {
                        reply.tiers = self.tiers(&fib, group, false);
                        match group.select(hash, fib.liveness()) {
                            None => FibVerdict::NoLiveNexthop,
                            Some(selected) => {
                                let weight = group
                                    .tiers()
                                    .nth(usize::from(selected.tier))
                                    .and_then(|t| t.iter().find(|m| m.nexthop == selected.nexthop))
                                    .map_or(0, |m| m.weight);
                                reply.live_tier = Some(selected.tier);
                                reply.chosen = Some(self.nexthop(
                                    &fib,
                                    selected.nexthop,
                                    selected.tier,
                                    weight,
                                ));
                                reply.neighbor = fib.nexthop(selected.nexthop).map(|nh| {
                                    self.neighbor_hint(nh.port, nh.neighbour_for(destination))
                                });
                                FibVerdict::Forward
                            }
                        }
                    }
                }
            }
        };
        Ok(reply)
    }

    fn neighbor_hint(&self, port: PortId, address: IpAddr) -> NeighborHint {
        let copy = self.neighbors.read();
        let entry = copy
            .entries
            .iter()
            .find(|e| e.port == port && e.ip == address);
        NeighborHint {
            interface: self.port_name(port),
            address,
            mac: entry.and_then(|e| e.mac).map(|m| m.to_string()),
            state: entry.map(|e| e.state.as_str().to_owned()),
        }
    }

    /// `show nexthop-groups`: the groups the listed routes use.
    pub fn nexthop_groups(&self) -> NexthopGroupsReply {
        let candidates = self.candidates();
        let fib = self.fib();
        let mut used: BTreeMap<u32, Vec<IpNet>> = BTreeMap::new();
        for route in self
            .all_routes(&fib, candidates)
            .into_iter()
            .filter(|r| r.selected)
        {
            if let Target::Forward { group: Some(g), .. } = route.target {
                used.entry(g).or_default().push(route.prefix);
            }
        }
        let groups = used
            .into_iter()
            .filter_map(|(id, prefixes)| {
                let group = fib.group(GroupId(id))?;
                let tiers = self.tiers(&fib, group, true);
                Some(Group {
                    id,
                    prefixes,
                    live_tier: tiers.iter().find(|t| t.live).map(|t| t.tier),
                    tiers,
                })
            })
            .collect();
        NexthopGroupsReply { groups }
    }

    /// Every next hop the listed routes use, once each, with its liveness:
    /// for `/metrics`.
    pub fn nexthops(&self) -> Vec<NextHop> {
        let mut seen = HashSet::new();
        self.nexthop_groups()
            .groups
            .into_iter()
            .flat_map(|g| g.tiers)
            .flat_map(|t| t.nexthops)
            .filter(|n| seen.insert(n.id))
            .collect()
    }

    pub fn neighbors(&self) -> NeighborsReply {
        let copy = self.neighbors.read();
        let mut neighbors: Vec<Neighbor> = copy
            .entries
            .iter()
            .map(|e| Neighbor {
                interface: self.port_name(e.port),
                address: e.ip,
                mac: e.mac.map(|m| m.to_string()),
                state: e.state.as_str().to_owned(),
                router: e.is_router,
                age_ms: u64::try_from(copy.age_of(e).as_millis()).unwrap_or(u64::MAX),
            })
            .collect();
        neighbors.sort_by(|a, b| (&a.interface, a.address).cmp(&(&b.interface, b.address)));
        NeighborsReply {
            neighbors,
            snapshot_age_ms: copy
                .age
                .map(|a| u64::try_from(a.as_millis()).unwrap_or(u64::MAX)),
        }
    }

    pub fn counters(&self) -> CountersReply {
        let c = &self.counters;
        CountersReply {
            ports: (0..self.config().ports.len())
                .map(|i| NamedPortCounters {
                    name: self
                        .config()
                        .ports
                        .get(i)
                        .map(|p| p.name.clone())
                        .unwrap_or_default(),
                    counters: self.port_counters(i),
                })
                .collect(),
            forwarded: c.forwarded.get(),
            drops: DropReason::ALL
                .iter()
                .map(|&r| (r.label().to_owned(), c.drops(r)))
                .collect(),
            punts: PuntClass::ALL
                .iter()
                .map(|&p| (p.label().to_owned(), c.punts(p)))
                .collect(),
            icmp_errors_sent: c.icmp_errors_sent.get(),
            icmp_errors_rate_limited: c.icmp_errors_rate_limited.get(),
            fragments_sent: c.fragments_sent.get(),
            neighbor_queued: c.neighbor_queued.get(),
            solicitations_sent: c.solicitations_sent.get(),
            host_twin_drops: self.host_drops.load(Ordering::Relaxed),
        }
    }
}

fn to_value<T: serde::Serialize>(reply: &T) -> Result<Value, ApiError> {
    serde_json::to_value(reply).map_err(|e| {
        ApiError::new(
            ErrorCode::Internal,
            format!("cannot encode the answer: {e}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ValidationEnv, parse_str};
    use crate::mgmt::api::{
        ConfigReply, CountersReply, InterfacesReply, NeighborsReply, NexthopGroupsReply,
    };
    use dataplane::neighbor::{NeighborEntryView, NeighborState};

    const CONFIG: &str = r#"
[ecmp]
hash-seed = 77

[[port]]
name = "lan0"
addresses = ["10.0.0.1/24", "2001:db8:a::1/64"]

[[port]]
name = "up1"
addresses = ["192.0.2.2/24"]

[[port]]
name = "up2"
addresses = ["198.51.100.2/24"]

[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "192.0.2.1"
[[static-route.next-hop]]
via = "198.51.100.1"
tier = "backup"

[[static-route]]
prefix = "203.0.113.0/24"
blackhole = true

[[static-route]]
prefix = "100.64.0.0/10"
reject = true

# Shadowed by the connected subnet (distance 0 beats 1).
[[static-route]]
prefix = "10.0.0.0/24"
[[static-route.next-hop]]
via = "192.0.2.1"
"#;

    fn state() -> RouterState {
        let config = parse_str(CONFIG, "test.toml", &ValidationEnv { cpu_count: 4 }).unwrap();
        RouterState::offline(config).unwrap()
    }

    struct OneSession(SessionStatus);

    impl BfdStatusSource for OneSession {
        fn status(&self) -> Option<BfdStatus> {
            Some(BfdStatus {
                sessions: vec![self.0],
                counters: EngineCounters {
                    malformed: 2,
                    ..EngineCounters::default()
                },
                taken_at: 5_000_000_000,
                age: std::time::Duration::from_millis(40),
            })
        }
    }

    #[test]
    fn show_bfd_names_the_port_and_ages_the_state_from_the_dataplane_clock() {
        let mut s = state();
        assert_eq!(
            s.bfd_sessions(None).snapshot_age_ms,
            None,
            "nothing published"
        );
        let key = dataplane::bfd::SessionKey::single_hop(
            1,
            "192.0.2.2".parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
        );
        let mut engine = dataplane::bfd::BfdEngine::new(1, 4);
        let liveness = dataplane::fib::Liveness::new(8);
        engine
            .apply(
                dataplane::bfd::BfdCommand::Add {
                    key,
                    params: dataplane::bfd::SessionParams::default(),
                    guards: Vec::new(),
                },
                3_000_000_000,
                &liveness,
            )
            .unwrap();
        let status = engine.session(&key).unwrap();
        s.bfd = Some(Arc::new(OneSession(status)));
        let reply = s.bfd_sessions(None);
        assert_eq!(reply.sessions.len(), 1);
        let b = &reply.sessions[0];
        assert_eq!(b.interface.as_deref(), Some("up1"));
        assert_eq!(b.state, "down");
        assert!(!b.multihop);
        assert_eq!(b.for_ms, 2_040, "5 s taken - 3 s since + 40 ms age");
        assert_eq!(reply.unmatched.malformed, 2);
        assert_eq!(reply.snapshot_age_ms, Some(40));
        assert!(
            s.bfd_sessions(Some("10.9.9.9".parse().unwrap()))
                .sessions
                .is_empty(),
            "filtered by peer"
        );
        let json = s
            .answer(&Request::Show(Show::Bfd {
                peer: Some("192.0.2.1".parse().unwrap()),
            }))
            .unwrap();
        assert_eq!(json["sessions"][0]["peer"], "192.0.2.1");
    }

    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }

    fn fib_to(state: &RouterState, address: &str) -> FibReply {
        state
            .fib_lookup(&FibQuery::to(address.parse().unwrap()))
            .unwrap()
    }

    #[test]
    fn routes_list_every_candidate_and_mark_what_the_fib_holds() {
        let reply = state().routes(None);
        let listed: Vec<(String, RouteSource, bool)> = reply
            .routes
            .iter()
            .map(|r| (r.prefix.to_string(), r.source.clone(), r.selected))
            .collect();
        let expect = |p: &str, s: RouteSource, sel: bool| (p.to_owned(), s, sel);
        assert_eq!(
            listed,
            vec![
                expect("0.0.0.0/0", RouteSource::Static, true),
                expect("10.0.0.0/24", RouteSource::Connected, true),
                expect("10.0.0.0/24", RouteSource::Static, false),
                expect("10.0.0.1/32", RouteSource::Local, true),
                expect("100.64.0.0/10", RouteSource::Static, true),
                expect("192.0.2.0/24", RouteSource::Connected, true),
                expect("192.0.2.2/32", RouteSource::Local, true),
                expect("198.51.100.0/24", RouteSource::Connected, true),
                expect("198.51.100.2/32", RouteSource::Local, true),
                expect("203.0.113.0/24", RouteSource::Static, true),
                expect("2001:db8:a::/64", RouteSource::Connected, true),
                expect("2001:db8:a::1/128", RouteSource::Local, true),
            ]
        );
        assert_eq!(reply.fib_routes, FamilyCounts { ipv4: 9, ipv6: 2 });
        // The default route: its group, primary then backup, both live.
        let Target::Forward { group, nexthops } = &reply.routes[0].target else {
            panic!("{:?}", reply.routes[0].target)
        };
        assert!(group.is_some());
        let hops: Vec<(String, Option<IpAddr>, u8, Option<bool>)> = nexthops
            .iter()
            .map(|n| (n.interface.clone(), n.via, n.tier, n.live))
            .collect();
        assert_eq!(
            hops,
            vec![
                (
                    "up1".into(),
                    Some("192.0.2.1".parse().unwrap()),
                    0,
                    Some(true)
                ),
                (
                    "up2".into(),
                    Some("198.51.100.1".parse().unwrap()),
                    1,
                    Some(true)
                ),
            ]
        );
        // The shadowed static: what the config asks, nothing installed.
        assert_eq!(
            reply.routes[2].target,
            Target::Forward {
                group: None,
                nexthops: vec![NextHop {
                    id: None,
                    interface: "up1".into(),
                    via: Some("192.0.2.1".parse().unwrap()),
                    tier: 0,
                    weight: 1,
                    live: None,
                    buckets: None,
                }],
            }
        );
        assert_eq!(reply.routes[4].target, Target::Reject);
        assert_eq!(reply.routes[9].target, Target::Blackhole);
    }

    #[test]
    fn a_prefix_filter_keeps_the_routes_inside_it() {
        let s = state();
        let inside: Vec<String> = s
            .routes(Some(net("10.0.0.0/8")))
            .routes
            .iter()
            .map(|r| r.prefix.to_string())
            .collect();
        assert_eq!(inside, ["10.0.0.0/24", "10.0.0.0/24", "10.0.0.1/32"]);
        assert!(s.routes(Some(net("172.16.0.0/12"))).routes.is_empty());
        let statics: Vec<String> = s
            .static_routes()
            .routes
            .iter()
            .map(|r| r.prefix.to_string())
            .collect();
        assert_eq!(
            statics,
            [
                "0.0.0.0/0",
                "10.0.0.0/24",
                "100.64.0.0/10",
                "203.0.113.0/24"
            ]
        );
    }

    #[test]
    fn fib_follows_the_primary_then_the_backup_then_nothing() {
        let s = state();
        let reply = fib_to(&s, "8.8.8.8");
        assert_eq!(reply.verdict, FibVerdict::Forward);
        assert_eq!(reply.matched, Some(net("0.0.0.0/0")));
        assert_eq!(reply.source, Some(RouteSource::Static));
        assert_eq!(reply.live_tier, Some(0));
        let primary = reply.chosen.clone().unwrap();
        assert_eq!(primary.via, Some("192.0.2.1".parse().unwrap()));
        assert_eq!(primary.interface, "up1");
        assert_eq!(reply.tiers.len(), 2);
        // Nothing learned yet: the neighbor is named, not resolved.
        let hint = reply.neighbor.unwrap();
        assert_eq!(
            (hint.address.to_string(), hint.mac, hint.state),
            ("192.0.2.1".into(), None, None)
        );

        let liveness = Arc::clone(s.fib.lock().unwrap().liveness());
        liveness.set(NextHopId(primary.id.unwrap()), false);
        let reply = fib_to(&s, "8.8.8.8");
        assert_eq!(reply.live_tier, Some(1));
        assert_eq!(
            reply.chosen.as_ref().unwrap().via,
            Some("198.51.100.1".parse().unwrap())
        );
        assert!(!reply.tiers[0].live && reply.tiers[1].live);

        let backup = reply.chosen.unwrap().id.unwrap();
        liveness.set(NextHopId(backup), false);
        let reply = fib_to(&s, "8.8.8.8");
        assert_eq!(reply.verdict, FibVerdict::NoLiveNexthop);
        assert_eq!(reply.chosen, None);
    }

    #[test]
    fn fib_verdicts_for_local_blackhole_reject_and_no_route() {
        let s = state();
        assert_eq!(fib_to(&s, "10.0.0.1").verdict, FibVerdict::Local);
        assert_eq!(fib_to(&s, "203.0.113.9").verdict, FibVerdict::Blackhole);
        assert_eq!(fib_to(&s, "100.64.1.1").verdict, FibVerdict::Reject);
        let none = fib_to(&s, "2001:db9::1");
        assert_eq!((none.verdict, none.matched), (FibVerdict::NoRoute, None));
        // On the link: the destination itself is the neighbor.
        let attached = fib_to(&s, "10.0.0.7");
        assert_eq!(attached.source, Some(RouteSource::Connected));
        assert_eq!(attached.neighbor.unwrap().address.to_string(), "10.0.0.7");
    }

    #[test]
    fn fib_hashes_the_flow_as_the_dataplane_does() {
        let s = state();
        let query = FibQuery {
            address: "8.8.8.8".parse().unwrap(),
            source: Some("10.0.0.9".parse().unwrap()),
            protocol: Some(17),
            source_port: Some(5353),
            destination_port: Some(53),
        };
        let reply = s.fib_lookup(&query).unwrap();
        let expected = FlowHasher::new(77, false).hash_v4(
            u32::from(Ipv4Addr::new(10, 0, 0, 9)),
            u32::from(Ipv4Addr::new(8, 8, 8, 8)),
            17,
            5353,
            53,
        );
        assert_eq!(reply.flow.hash, expected);
        assert_eq!(reply.flow.source_port, 5353);
    }

    #[test]
    fn fib_refuses_mixed_families_and_ports_without_a_port_protocol() {
        let s = state();
        let mut query = FibQuery::to("8.8.8.8".parse().unwrap());
        query.source = Some("2001:db8::1".parse().unwrap());
        assert_eq!(
            s.fib_lookup(&query).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
        let mut query = FibQuery::to("8.8.8.8".parse().unwrap());
        query.protocol = Some(1);
        query.destination_port = Some(80);
        assert_eq!(
            s.fib_lookup(&query).unwrap_err().code,
            ErrorCode::InvalidRequest
        );
    }

    #[test]
    fn the_neighbor_copy_shows_in_neighbors_and_fib() {
        let s = state();
        let mac = MacAddr([2, 0, 0, 0, 0, 0x42]);
        s.neighbors.publish(
            [NeighborEntryView {
                port: 1,
                ip: "192.0.2.1".parse().unwrap(),
                mac: Some(mac),
                state: NeighborState::Reachable,
                is_router: true,
                updated_ns: 1_000_000,
            }]
            .into_iter(),
            3_000_000,
        );
        let reply = s.neighbors();
        assert_eq!(reply.neighbors.len(), 1);
        let n = &reply.neighbors[0];
        assert_eq!(
            (n.interface.as_str(), n.state.as_str(), n.router),
            ("up1", "REACHABLE", true)
        );
        assert_eq!(n.mac.as_deref(), Some("02:00:00:00:00:42"));
        assert!(n.age_ms >= 2, "2 ms old when copied");
        let hint = fib_to(&s, "8.8.8.8").neighbor.unwrap();
        assert_eq!(hint.state.as_deref(), Some("REACHABLE"));
        assert_eq!(hint.mac.as_deref(), Some("02:00:00:00:00:42"));
    }

    #[test]
    fn nexthop_groups_are_those_the_routes_use() {
        let reply = state().nexthop_groups();
        // One attached group per port, and the default route's.
        assert_eq!(reply.groups.len(), 4);
        let default = reply
            .groups
            .iter()
            .find(|g| g.prefixes.contains(&net("0.0.0.0/0")))
            .unwrap();
        assert_eq!(default.tiers.len(), 2);
        assert_eq!(default.live_tier, Some(0));
        for tier in &default.tiers {
            let buckets: usize = tier.nexthops.iter().filter_map(|n| n.buckets).sum();
            assert_eq!(buckets, dataplane::fib::resilient::BUCKETS);
        }
        let lan = reply
            .groups
            .iter()
            .find(|g| g.prefixes.contains(&net("10.0.0.0/24")))
            .unwrap();
        // The port's IPv4 and IPv6 subnets share its attached next hop.
        assert!(lan.prefixes.contains(&net("2001:db8:a::/64")));
    }

    #[test]
    fn counters_name_every_reason_and_class() {
        let s = state();
        s.counters.count_drop(DropReason::NoRoute);
        s.counters.count_drop(DropReason::NoRoute);
        s.counters.punt(PuntClass::Arp);
        s.counters.ports[2].rx_packets.add(5);
        s.host_drops.store(3, Ordering::Relaxed);
        let reply = s.counters();
        assert_eq!(reply.drops.len(), DropReason::COUNT);
        assert_eq!(reply.drops["no_route"], 2);
        assert_eq!(reply.drops["ttl_expired"], 0);
        assert_eq!(reply.punts.len(), PuntClass::COUNT);
        assert_eq!(reply.punts["arp"], 1);
        assert_eq!(reply.ports[2].name, "up2");
        assert_eq!(reply.ports[2].counters.rx_packets, 5);
        assert_eq!(reply.host_twin_drops, 3);
    }

    #[test]
    fn interfaces_come_from_the_config_and_the_runtime() {
        let reply = state().interfaces();
        let names: Vec<&str> = reply.interfaces.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(names, ["lan0", "up1", "up2"]);
        let lan = &reply.interfaces[0];
        assert_eq!(lan.twin, "vr-lan0");
        assert_eq!(lan.mtu, 1500);
        assert_eq!(
            lan.addresses,
            vec![net("10.0.0.1/24"), net("2001:db8:a::1/64")]
        );
        assert_eq!(lan.link, LinkState::Unreadable);
    }

    /// Every answer, through JSON, reads back as its reply type.
    #[test]
    fn every_answer_round_trips_through_json() {
        let s = state();
        let ask = |show: Show| s.answer(&Request::Show(show)).unwrap();
        let back = |v: Value| v;
        assert_eq!(
            serde_json::from_value::<InterfacesReply>(back(ask(Show::Interfaces))).unwrap(),
            s.interfaces()
        );
        assert_eq!(
            serde_json::from_value::<RoutesReply>(ask(Show::Routes { prefix: None })).unwrap(),
            s.routes(None)
        );
        assert_eq!(
            serde_json::from_value::<RoutesReply>(ask(Show::Static)).unwrap(),
            s.static_routes()
        );
        let query = FibQuery::to("8.8.8.8".parse().unwrap());
        assert_eq!(
            serde_json::from_value::<FibReply>(ask(Show::Fib(query.clone()))).unwrap(),
            s.fib_lookup(&query).unwrap()
        );
        assert_eq!(
            serde_json::from_value::<NexthopGroupsReply>(ask(Show::NexthopGroups)).unwrap(),
            s.nexthop_groups()
        );
        assert_eq!(
            serde_json::from_value::<NeighborsReply>(ask(Show::Neighbors)).unwrap(),
            s.neighbors()
        );
        assert_eq!(
            serde_json::from_value::<CountersReply>(ask(Show::Counters)).unwrap(),
            s.counters()
        );
        assert_eq!(
            serde_json::from_value::<ConfigReply>(ask(Show::Config))
                .unwrap()
                .config,
            *s.config()
        );
    }
}
