//! Property: after any sequence of batches of adds and withdraws (routes
//! from every source, recursive and direct next hops, discard routes, port
//! addresses), what the FIB answers for probe addresses equals a naive
//! model's best route, recomputed from scratch; the incremental RIB equals
//! a RIB built in one go from the final state; and withdrawing everything
//! leaves no route, group or next hop behind.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use controlplane::rib::{Candidate, CandidateKey, Rib, RibConfig, RibEntryView, RouteKind};
use controlplane::route::{RouteNextHop, RouteSource};
use dataplane::fib::{FibConfig, FibWriter, RouteTarget};
use dataplane::port::PortId;
use ipnet::IpNet;
use proptest::prelude::*;

const MAX_RECURSION: u8 = 3;

const PREFIXES: [&str; 8] = [
    "0.0.0.0/0",
    "10.0.0.0/8",
    "10.1.0.0/16",
    "10.1.1.0/24",
    "10.1.1.128/25",
    "10.2.0.0/16",
    "10.2.0.1/32",
    "192.0.2.0/24",
];
const GATEWAYS: [&str; 8] = [
    "10.1.1.1",
    "10.1.1.129",
    "10.2.0.1",
    "10.2.5.5",
    "192.0.2.1",
    "192.0.2.9",
    "10.9.9.9",
    "172.16.0.1",
];
const ADDRESSES: [&str; 4] = ["192.0.2.2/24", "10.1.1.2/24", "10.2.0.2/16", "10.2.5.5/32"];
const EXTRA_PROBES: [&str; 8] = [
    "10.1.1.200",
    "10.1.200.1",
    "10.200.0.1",
    "8.8.8.8",
    "192.0.2.2",
    "10.1.1.2",
    "10.2.0.2",
    "10.2.200.1",
];
const SOURCES: [RouteSource; 4] = [
    RouteSource::Static,
    RouteSource::Ospf,
    RouteSource::Ebgp,
    RouteSource::Ibgp,
];

/// The IPv4 address space of the tables above, or the same shape inside
/// 2001:db8::/32 (every prefix relation is kept).
fn addr(s: &str, v6: bool) -> IpAddr {
    let v4: Ipv4Addr = s.parse().unwrap();
    if v6 {
        IpAddr::V6(Ipv6Addr::from(
            0x2001_0db8u128 << 96 | u128::from(u32::from(v4)),
        ))
    } else {
        IpAddr::V4(v4)
    }
}

fn prefix(s: &str, v6: bool) -> IpNet {
    let (a, len) = s.split_once('/').unwrap();
    let len: u8 = len.parse().unwrap();
    IpNet::new(addr(a, v6), if v6 { len + 96 } else { len }).unwrap()
}

#[derive(Debug, Clone)]
enum Hop {
    Direct(PortId, usize),
    Via(usize),
}

#[derive(Debug, Clone)]
enum Kind {
    Forward(Vec<Hop>),
    Blackhole,
    Reject,
}

#[derive(Debug, Clone)]
enum Op {
    Add {
        prefix: usize,
        source: usize,
        instance: u32,
        distance: Option<u8>,
        metric: u32,
        kind: Kind,
    },
    Withdraw {
        prefix: usize,
        source: usize,
        instance: u32,
    },
    Connect(PortId, usize),
    Disconnect(PortId, usize),
}

fn hop() -> impl Strategy<Value = Hop> {
    prop_oneof![
        1 => (1u16..=3, 0..GATEWAYS.len()).prop_map(|(p, g)| Hop::Direct(p, g)),
        3 => (0..GATEWAYS.len()).prop_map(Hop::Via),
    ]
}

fn kind() -> impl Strategy<Value = Kind> {
    prop_oneof![
        6 => prop::collection::vec(hop(), 1..=2).prop_map(Kind::Forward),
        1 => Just(Kind::Blackhole),
        1 => Just(Kind::Reject),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => (
            0..PREFIXES.len(),
            0..SOURCES.len(),
            0u32..2,
            prop::option::of(prop::sample::select(vec![1u8, 20, 110])),
            0u32..3,
            kind()
        )
            .prop_map(|(prefix, source, instance, distance, metric, kind)| Op::Add {
                prefix,
                source,
                instance,
                distance,
                metric,
                kind
            }),
        3 => (0..PREFIXES.len(), 0..SOURCES.len(), 0u32..2).prop_map(
            |(prefix, source, instance)| Op::Withdraw {
                prefix,
                source,
                instance
            }
        ),
        1 => (1u16..=3, 0..ADDRESSES.len()).prop_map(|(p, a)| Op::Connect(p, a)),
        1 => (1u16..=3, 0..ADDRESSES.len()).prop_map(|(p, a)| Op::Disconnect(p, a)),
    ]
}

/// Next hops as the model sees them: one tier (every hop here is tier 0,
/// weight 1), a set of (port, neighbour).
type HopSet = BTreeSet<(PortId, Option<IpAddr>)>;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Answer {
    NoRoute,
    Target(RouteTarget),
    Forward(HopSet),
}

/// The naive model: candidates as given, connected candidates derived from
/// the addresses, and every answer recomputed from scratch by the
/// definition (see `controlplane::rib` resolve.rs): first usable candidate
/// in preference order, equal forwarding candidates of its source merged,
/// a gateway resolved through the most specific covering prefix usable in
/// this context, a prefix already being resolved cutting the branch.
#[derive(Default)]
struct Model {
    routes: BTreeMap<IpNet, BTreeMap<(RouteSource, u32), Candidate>>,
    connected: BTreeSet<(PortId, IpNet)>,
}

impl Model {
    fn candidates(&self, p: IpNet) -> Vec<Candidate> {
        let mut all: Vec<Candidate> = self
            .routes
            .get(&p)
            .map(|m| m.values().cloned().collect())
            .unwrap_or_default();
        let ports: BTreeSet<(PortId, bool)> = self
            .connected
            .iter()
            .filter_map(|(port, a)| {
                let host = IpNet::new(a.addr(), a.max_prefix_len()).unwrap();
                if host == p {
                    Some((*port, true))
                } else if a.trunc() == p && a.prefix_len() < a.max_prefix_len() {
                    Some((*port, false))
                } else {
                    None
                }
            })
            .collect();
        for (port, local) in ports {
            all.push(Candidate {
                source: RouteSource::Connected,
                instance: u32::from(port),
                distance: 0,
                metric: 0,
                kind: if local {
                    RouteKind::Local
                } else {
                    RouteKind::Forward(vec![RouteNextHop {
                        gateway: None,
                        port: Some(port),
                        weight: 1,
                        tier: 0,
                    }])
                },
            });
        }
        all.sort_by_key(|c| {
            (
                c.distance,
                c.metric,
                c.source.default_distance(),
                c.instance,
            )
        });
        all
    }

    fn prefixes(&self) -> BTreeSet<IpNet> {
        let mut all: BTreeSet<IpNet> = self
            .routes
            .iter()
            .filter(|(_, m)| !m.is_empty())
            .map(|(p, _)| *p)
            .collect();
        for (_, a) in &self.connected {
            all.insert(IpNet::new(a.addr(), a.max_prefix_len()).unwrap());
            if a.prefix_len() < a.max_prefix_len() {
                all.insert(a.trunc());
            }
        }
        all
    }

    fn answer(&self, p: IpNet, stack: &mut Vec<IpNet>) -> Answer {
        stack.push(p);
        let mut winner: Option<Candidate> = None;
        let mut hops = HopSet::new();
        for c in self.candidates(p) {
            if let Some(w) = &winner {
                let tie = w.kind.is_forward()
                    && c.kind.is_forward()
                    && (w.source, w.distance, w.metric) == (c.source, c.distance, c.metric);
                if !tie {
                    continue;
                }
            }
            match &c.kind {
                RouteKind::Forward(next_hops) => {
                    let mut got = HopSet::new();
                    for h in next_hops {
                        match (h.port, h.gateway) {
                            (Some(port), gw) => {
                                got.insert((port, gw));
                            }
                            (None, Some(g)) => got.extend(self.resolve(g, stack)),
                            (None, None) => {}
                        }
                    }
                    if !got.is_empty() {
                        hops.extend(got);
                        winner.get_or_insert(c);
                    }
                }
                _ => winner = Some(c),
            }
        }
        stack.pop();
        match winner.map(|w| w.kind) {
            None => Answer::NoRoute,
            Some(RouteKind::Local) => Answer::Target(RouteTarget::Local),
            Some(RouteKind::Blackhole) => Answer::Target(RouteTarget::Blackhole),
            Some(RouteKind::Reject) => Answer::Target(RouteTarget::Unreachable),
            Some(RouteKind::Forward(_)) => Answer::Forward(hops),
        }
    }

    fn resolve(&self, g: IpAddr, stack: &mut Vec<IpNet>) -> HopSet {
        let mut covering: Vec<IpNet> = self
            .prefixes()
            .into_iter()
            .filter(|p| p.contains(&g))
            .collect();
        covering.sort_by_key(|p| std::cmp::Reverse(p.prefix_len()));
        for q in covering {
            if stack.contains(&q) || stack.len() > usize::from(MAX_RECURSION) {
                return HopSet::new();
            }
            match self.answer(q, stack) {
                Answer::NoRoute => continue,
                Answer::Forward(hops) => {
                    return hops
                        .into_iter()
                        .map(|(port, gw)| (port, gw.or(Some(g))))
                        .collect();
                }
                Answer::Target(_) => return HopSet::new(),
            }
        }
        HopSet::new()
    }

    /// Longest-prefix match over the prefixes that have a route.
    fn lookup(&self, a: IpAddr) -> Option<(u8, Answer)> {
        let mut covering: Vec<IpNet> = self
            .prefixes()
            .into_iter()
            .filter(|p| p.contains(&a))
            .collect();
        covering.sort_by_key(|p| std::cmp::Reverse(p.prefix_len()));
        covering
            .into_iter()
            .find_map(|p| match self.answer(p, &mut Vec::new()) {
                Answer::NoRoute => None,
                answer => Some((p.prefix_len(), answer)),
            })
    }
}

fn new_fib() -> FibWriter {
    FibWriter::new(FibConfig {
        v4_first_stride: 16,
        v6_first_stride: 16,
        max_nexthops: 256,
    })
    .0
}

fn fib_answer(fib: &FibWriter, a: IpAddr) -> Option<(u8, Answer)> {
    let (len, target) = fib.lookup(a)?;
    let answer = match target {
        RouteTarget::Group(g) => {
            let group = fib.group(g).expect("route to a missing group");
            assert_eq!(group.tiers().count(), 1, "only tier-0 hops in this space");
            Answer::Forward(
                group
                    .nexthops()
                    .map(|id| {
                        let hop = fib.nexthop(id).expect("group member without next hop");
                        (hop.port, hop.gateway)
                    })
                    .collect(),
            )
        }
        other => Answer::Target(other),
    };
    Some((len, answer))
}

fn apply(op: &Op, v6: bool, rib: &mut Rib, model: &mut Model) {
    let gateway = |i: usize| addr(GATEWAYS[i], v6);
    match op {
        Op::Add {
            prefix: p,
            source,
            instance,
            distance,
            metric,
            kind,
        } => {
            let source = SOURCES[*source];
            let kind = match kind {
                Kind::Blackhole => RouteKind::Blackhole,
                Kind::Reject => RouteKind::Reject,
                Kind::Forward(hops) => RouteKind::Forward(
                    hops.iter()
                        .map(|h| match h {
                            Hop::Direct(port, g) => RouteNextHop {
                                gateway: Some(gateway(*g)),
                                port: Some(*port),
                                weight: 1,
                                tier: 0,
                            },
                            Hop::Via(g) => RouteNextHop {
                                gateway: Some(gateway(*g)),
                                port: None,
                                weight: 1,
                                tier: 0,
                            },
                        })
                        .collect(),
                ),
            };
            let candidate = Candidate {
                source,
                instance: *instance,
                distance: distance.unwrap_or(source.default_distance()),
                metric: *metric,
                kind,
            };
            let p = prefix(PREFIXES[*p], v6);
            model
                .routes
                .entry(p)
                .or_default()
                .insert((source, *instance), candidate.clone());
            rib.add_candidate(p, candidate);
        }
        Op::Withdraw {
            prefix: p,
            source,
            instance,
        } => {
            let p = prefix(PREFIXES[*p], v6);
            let source = SOURCES[*source];
            if let Some(m) = model.routes.get_mut(&p) {
                m.remove(&(source, *instance));
            }
            rib.withdraw_candidate(
                p,
                CandidateKey {
                    source,
                    instance: *instance,
                },
            );
        }
        Op::Connect(port, a) => {
            let a = prefix(ADDRESSES[*a], v6);
            model.connected.insert((*port, a));
            rib.add_connected(*port, a);
        }
        Op::Disconnect(port, a) => {
            let a = prefix(ADDRESSES[*a], v6);
            model.connected.remove(&(*port, a));
            rib.remove_connected(*port, a);
        }
    }
}

/// A view without the ids, which depend on allocation history.
fn without_ids(mut view: RibEntryView) -> RibEntryView {
    view.group = None;
    if matches!(view.installed, Some(RouteTarget::Group(_))) {
        view.installed = Some(RouteTarget::Group(dataplane::fib::GroupId(0)));
    }
    for tier in &mut view.resolved {
        for hop in tier {
            hop.id = None;
        }
    }
    view
}

fn config() -> RibConfig {
    RibConfig {
        max_recursion: MAX_RECURSION,
        ..RibConfig::default()
    }
}

fn check(batches: Vec<Vec<Op>>, v6: bool) -> Result<(), TestCaseError> {
    let mut rib = Rib::new(config());
    let mut fib = new_fib();
    let mut model = Model::default();
    let probes: Vec<IpAddr> = GATEWAYS
        .iter()
        .chain(EXTRA_PROBES.iter())
        .map(|s| addr(s, v6))
        .collect();
    for batch in &batches {
        for op in batch {
            apply(op, v6, &mut rib, &mut model);
        }
        rib.commit(&mut fib).unwrap();
        for &a in &probes {
            prop_assert_eq!(
                fib_answer(&fib, a),
                model.lookup(a),
                "probe {} after {:?}",
                a,
                batch
            );
        }
    }

    // The same final state, built in one go, explains every prefix alike.
    let mut fresh = Rib::new(config());
    let mut fresh_fib = new_fib();
    for (p, m) in &model.routes {
        for c in m.values() {
            fresh.add_candidate(*p, c.clone());
        }
    }
    for (port, a) in &model.connected {
        fresh.add_connected(*port, *a);
    }
    fresh.commit(&mut fresh_fib).unwrap();
    let incremental: Vec<RibEntryView> = rib.routes().map(without_ids).collect();
    let at_once: Vec<RibEntryView> = fresh.routes().map(without_ids).collect();
    prop_assert_eq!(incremental, at_once);
    prop_assert_eq!(rib.counts(), fresh.counts());
    prop_assert_eq!(rib.group_count(), fresh.group_count());
    prop_assert_eq!(rib.nexthop_count(), fresh.nexthop_count());

    // Withdrawing everything leaves nothing behind.
    for (p, m) in &model.routes {
        for key in m.keys() {
            rib.withdraw_candidate(
                *p,
                CandidateKey {
                    source: key.0,
                    instance: key.1,
                },
            );
        }
    }
    for (port, a) in &model.connected {
        rib.remove_connected(*port, *a);
    }
    rib.commit(&mut fib).unwrap();
    prop_assert_eq!(fib.route_counts(), (0, 0));
    prop_assert_eq!((rib.group_count(), rib.nexthop_count()), (0, 0));
    prop_assert_eq!(rib.routes().count(), 0);
    prop_assert_eq!(rib.tracked_gateways(), 0);
    prop_assert_eq!(rib.counts().candidates.total(), 0);
    prop_assert_eq!(rib.counts().selected.total(), 0);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn fib_matches_naive_model_v4(batches in prop::collection::vec(prop::collection::vec(op(), 1..8), 1..16)) {
        check(batches, false)?;
    }

    #[test]
    fn fib_matches_naive_model_v6(batches in prop::collection::vec(prop::collection::vec(op(), 1..8), 1..16)) {
        check(batches, true)?;
    }
}
