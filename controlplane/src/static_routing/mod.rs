//! Static routes with tracking, as a sans-IO protocol.
//!
//! Each configured route becomes one RIB candidate of source `Static`,
//! instance = its distance (so floating static routes to one prefix coexist
//! and the RIB picks the lowest distance). A next hop's *health* is its
//! port's link state and, when configured, a reachability probe and a BFD
//! session (RFC 5882 §3: a session Down means the next hop failed). Health
//! acts twice, at two speeds:
//! - at once, through [`StaticNotification::NextHopHealth`]: the driver
//!   flips the next hop's liveness bit in the dataplane, so every prefix
//!   using it moves to the next live member or tier on the next packet;
//! - then in the RIB: a route whose next hops are all unhealthy is
//!   withdrawn, so a floating static route (or another source) takes over.
//!   A route with some healthy next hops keeps all of them, so a gateway
//!   coming back needs no new next-hop group — only its liveness bit.

mod config;

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

pub use config::{
    NextHopRef, ProbeKind, ProbeSpec, StaticNextHop, StaticRouteConfig, StaticRouteKey,
    StaticRoutingConfig, StaticTarget,
};

use crate::clock::Nanos;
use crate::protocol::{Actions, Input, PortId, Protocol};
use crate::rib::{Candidate, CandidateKey, RouteKind};
use crate::route::{RibUpdate, RouteNextHop, RouteSource};
use crate::tracking::probe::{ProbeAction, ProbeConfig, ProbeTracker};

/// Events from the probe sockets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaticEvent {
    /// An answer to probe `probe`'s request `seq` arrived.
    ProbeReply { probe: ProbeId, seq: u16 },
}

/// What the driver must carry out besides RIB updates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StaticNotification {
    /// Set the dataplane liveness of (port, gateway) now.
    NextHopHealth { next_hop: NextHopRef, live: bool },
    /// Send request `seq` of probe `probe` out of `port`.
    SendProbe {
        probe: ProbeId,
        port: PortId,
        kind: ProbeKind,
        target: std::net::IpAddr,
        seq: u16,
    },
    /// A probe changed its verdict (for the log and `show static`).
    ProbeState {
        probe: ProbeId,
        port: PortId,
        target: std::net::IpAddr,
        up: bool,
    },
}

/// Names one running probe; also its timer token.
pub type ProbeId = u64;

/// One probe, shared by every next hop that asks for the same check.
struct Probe {
    port: PortId,
    spec: ProbeSpec,
    tracker: ProbeTracker,
    up: bool,
}

pub struct StaticRouting {
    name: String,
    config: StaticRoutingConfig,
    /// Link state by port; a port not listed is up (the driver reports
    /// every down port at start).
    links_down: BTreeSet<PortId>,
    probes: BTreeMap<ProbeId, Probe>,
    next_probe_id: ProbeId,
    /// Peers whose BFD session holds their next hops live; any other
    /// BFD-guarded next hop is unhealthy (never route to a gateway BFD has
    /// not vouched for).
    bfd_up: BTreeSet<std::net::IpAddr>,
    /// Health last reported per next hop.
    health: BTreeMap<NextHopRef, bool>,
    /// Routes currently given to the RIB.
    installed: BTreeMap<StaticRouteKey, Candidate>,
}

impl StaticRouting {
    /// `down_ports`: ports whose link is down when the protocol starts.
    pub fn new(
        name: impl Into<String>,
        config: StaticRoutingConfig,
        down_ports: impl IntoIterator<Item = PortId>,
    ) -> Self {
        StaticRouting {
            name: name.into(),
            config,
            links_down: down_ports.into_iter().collect(),
            probes: BTreeMap::new(),
            next_probe_id: 1,
            bfd_up: BTreeSet::new(),
            health: BTreeMap::new(),
            installed: BTreeMap::new(),
        }
    }

    pub fn config(&self) -> &StaticRoutingConfig {
        &self.config
    }

    /// Health of every next hop in use, as last reported.
    pub fn health(&self) -> impl Iterator<Item = (NextHopRef, bool)> + '_ {
        self.health.iter().map(|(k, v)| (*k, *v))
    }

    /// Whether the route `key` is given to the RIB now.
    pub fn is_installed(&self, key: &StaticRouteKey) -> bool {
        self.installed.contains_key(key)
    }

    /// Probes: (id, port, spec, up).
    pub fn probes(&self) -> impl Iterator<Item = (ProbeId, PortId, ProbeSpec, bool)> + '_ {
        self.probes
            .iter()
            .map(|(id, p)| (*id, p.port, p.spec, p.up))
    }

    /// Whether (port, gateway) may carry traffic: link up, every probe
    /// guarding it up, and its BFD session up if one guards it.
    fn healthy(&self, next_hop: NextHopRef) -> bool {
        if self.links_down.contains(&next_hop.port) {
            return false;
        }
        let bfd_guarded = self.next_hops().any(|nh| nh.key() == next_hop && nh.bfd);
        if bfd_guarded && !next_hop.gateway.is_some_and(|gw| self.bfd_up.contains(&gw)) {
            return false;
        }
        self.guarding_probes(next_hop).all(|p| p.up)
    }

    fn guarding_probes(&self, next_hop: NextHopRef) -> impl Iterator<Item = &Probe> + '_ {
        let checks: BTreeSet<(ProbeKind, std::net::IpAddr)> = self
            .next_hops()
            .filter(|nh| nh.key() == next_hop)
            .filter_map(|nh| nh.probe.map(|p| (p.kind, p.target)))
            .collect();
        self.probes.values().filter(move |p| {
            p.port == next_hop.port && checks.contains(&(p.spec.kind, p.spec.target))
        })
    }

    fn next_hops(&self) -> impl Iterator<Item = &StaticNextHop> + '_ {
        self.config
            .routes
            .iter()
            .filter_map(|r| match &r.target {
                StaticTarget::Forward(hops) => Some(hops.iter()),
                StaticTarget::Blackhole | StaticTarget::Reject => None,
            })
            .flatten()
    }

    /// Starts probes the config asks for that are not running, retimes
    /// those whose timing changed (keeping their verdict: reconfiguring a
    /// route must not flap it) and stops those no longer asked for. A
    /// probe is one (port, kind, target); next hops asking the same check
    /// share it, with the timing of the first that asks.
    fn sync_probes(&mut self, now: Nanos, out: &mut Actions<StaticNotification>) {
        let mut wanted: BTreeMap<(PortId, ProbeKind, std::net::IpAddr), ProbeSpec> =
            BTreeMap::new();
        for nh in self.next_hops() {
            if let Some(spec) = nh.probe {
                wanted
                    .entry((nh.port, spec.kind, spec.target))
                    .or_insert(spec);
            }
        }
        let identity = |p: &Probe| (p.port, p.spec.kind, p.spec.target);
        let stale: Vec<ProbeId> = self
            .probes
            .iter()
            .filter(|(_, p)| !wanted.contains_key(&identity(p)))
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.probes.remove(&id);
            out.cancel_timer(id);
        }
        for ((port, _, _), spec) in wanted {
            let running = self.probes.iter_mut().find(|(_, p)| {
                (p.port, p.spec.kind, p.spec.target) == (port, spec.kind, spec.target)
            });
            if let Some((&id, probe)) = running {
                if probe.spec != spec {
                    probe.spec = spec;
                    let actions = probe.tracker.reconfigure(now, probe_config(&spec));
                    self.carry_out(id, actions, out);
                }
                continue;
            }
            let id = self.next_probe_id;
            self.next_probe_id += 1;
            let mut tracker = ProbeTracker::new(probe_config(&spec));
            let actions = tracker.start(now);
            self.probes.insert(
                id,
                Probe {
                    port,
                    spec,
                    tracker,
                    up: false,
                },
            );
            self.carry_out(id, actions, out);
        }
    }

    /// Turns a tracker's actions into the protocol's.
    fn carry_out(
        &mut self,
        id: ProbeId,
        actions: Vec<ProbeAction>,
        out: &mut Actions<StaticNotification>,
    ) {
        for action in actions {
            let Some(probe) = self.probes.get_mut(&id) else {
                return;
            };
            match action {
                ProbeAction::Send { seq } => out.notify(StaticNotification::SendProbe {
                    probe: id,
                    port: probe.port,
                    kind: probe.spec.kind,
                    target: probe.spec.target,
                    seq,
                }),
                ProbeAction::ArmTimer { at } => out.arm_timer(id, at),
                ProbeAction::StateChanged { up } => {
                    probe.up = up;
                    out.notify(StaticNotification::ProbeState {
                        probe: id,
                        port: probe.port,
                        target: probe.spec.target,
                        up,
                    });
                }
            }
        }
    }

    /// Re-derives every next hop's health and every route's candidate,
    /// emitting only what changed.
    fn converge(&mut self, out: &mut Actions<StaticNotification>) {
        let refs: BTreeSet<NextHopRef> = self.next_hops().map(StaticNextHop::key).collect();
        self.health.retain(|k, _| refs.contains(k));
        for next_hop in refs {
            let live = self.healthy(next_hop);
            if self.health.insert(next_hop, live) != Some(live) {
                out.notify(StaticNotification::NextHopHealth { next_hop, live });
            }
        }

        let mut wanted: BTreeMap<StaticRouteKey, Candidate> = BTreeMap::new();
        for route in &self.config.routes {
            let kind = match &route.target {
                StaticTarget::Blackhole => RouteKind::Blackhole,
                StaticTarget::Reject => RouteKind::Reject,
                StaticTarget::Forward(hops) => {
                    if !hops
                        .iter()
                        .any(|nh| self.health.get(&nh.key()) == Some(&true))
                    {
                        continue;
                    }
                    RouteKind::Forward(
                        hops.iter()
                            .map(|nh| RouteNextHop {
                                gateway: nh.gateway,
                                port: Some(nh.port),
                                weight: nh.weight,
                                tier: nh.tier,
                            })
                            .collect(),
                    )
                }
            };
            wanted.insert(
                route.key(),
                Candidate {
                    source: RouteSource::Static,
                    instance: u32::from(route.distance),
                    distance: route.distance,
                    metric: 0,
                    kind,
                },
            );
        }
        let gone: Vec<StaticRouteKey> = self
            .installed
            .keys()
            .filter(|k| !wanted.contains_key(k))
            .copied()
            .collect();
        for key in gone {
            self.installed.remove(&key);
            out.rib(RibUpdate::RemoveCandidate {
                prefix: key.prefix,
                key: candidate_key(key),
            });
        }
        for (key, candidate) in wanted {
            if self.installed.get(&key) == Some(&candidate) {
                continue;
            }
            self.installed.insert(key, candidate.clone());
            out.rib(RibUpdate::SetCandidate {
                prefix: key.prefix,
                candidate,
            });
        }
    }
}

fn candidate_key(key: StaticRouteKey) -> CandidateKey {
    CandidateKey {
        source: RouteSource::Static,
        instance: u32::from(key.distance),
    }
}

fn probe_config(spec: &ProbeSpec) -> ProbeConfig {
    ProbeConfig {
        interval_ms: spec.interval_ms,
        timeout_ms: spec.timeout_ms,
        up_threshold: spec.up_threshold,
        down_threshold: spec.down_threshold,
    }
}

impl Protocol for StaticRouting {
    type Config = StaticRoutingConfig;
    type Event = StaticEvent;
    type Notification = StaticNotification;

    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self, now: Nanos, out: &mut Actions<StaticNotification>) {
        self.sync_probes(now, out);
        self.converge(out);
    }

    fn handle(
        &mut self,
        now: Nanos,
        input: Input<StaticEvent>,
        out: &mut Actions<StaticNotification>,
    ) {
        match input {
            Input::Interface { port, up } => {
                let changed = if up {
                    self.links_down.remove(&port)
                } else {
                    self.links_down.insert(port)
                };
                if changed {
                    self.converge(out);
                }
            }
            Input::Timer(id) => {
                let Some(probe) = self.probes.get_mut(&id) else {
                    return;
                };
                let actions = probe.tracker.on_timer(now);
                self.carry_out(id, actions, out);
                self.converge(out);
            }
            Input::Protocol(StaticEvent::ProbeReply { probe, seq }) => {
                let Some(p) = self.probes.get_mut(&probe) else {
                    return;
                };
                let actions = p.tracker.on_reply(now, seq);
                self.carry_out(probe, actions, out);
                self.converge(out);
            }
            // RFC 5882 §3: a session going Down is the peer failing; the
            // dataplane has already moved the traffic, this withdraws
            // routes left without a healthy next hop.
            Input::Bfd { peer, up } => {
                let changed = if up {
                    self.bfd_up.insert(peer)
                } else {
                    self.bfd_up.remove(&peer)
                };
                if changed {
                    self.converge(out);
                }
            }
            // No packets are punted to this protocol.
            Input::Packet { .. } => {}
        }
    }

    fn reconfigure(
        &mut self,
        now: Nanos,
        config: &StaticRoutingConfig,
        out: &mut Actions<StaticNotification>,
    ) {
        self.config = config.clone();
        self.sync_probes(now, out);
        self.converge(out);
    }

    fn shutdown(&mut self, _now: Nanos, out: &mut Actions<StaticNotification>) {
        for id in std::mem::take(&mut self.probes).into_keys() {
            out.cancel_timer(id);
        }
        for key in std::mem::take(&mut self.installed).into_keys() {
            out.rib(RibUpdate::RemoveCandidate {
                prefix: key.prefix,
                key: candidate_key(key),
            });
        }
    }
}
