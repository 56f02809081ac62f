//! The static routing protocol with a fake clock: what it hands the RIB,
//! which next-hop health it reports, and how probes and link state move
//! both.

use std::net::IpAddr;

use controlplane::clock::Nanos;
use controlplane::protocol::{Action, Actions, Input, Protocol};
use controlplane::rib::{CandidateKey, RouteKind};
use controlplane::route::{RibUpdate, RouteSource};
use controlplane::static_routing::{
    NextHopRef, ProbeKind, ProbeSpec, StaticEvent, StaticNextHop, StaticNotification,
    StaticRouteConfig, StaticRouting, StaticRoutingConfig, StaticTarget,
};

const MS: Nanos = 1_000_000;

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn hop(gw: &str, port: u16, tier: u8) -> StaticNextHop {
    StaticNextHop {
        gateway: Some(ip(gw)),
        port,
        weight: 1,
        tier,
        probe: None,
        bfd: false,
    }
}

fn probed(mut nh: StaticNextHop, interval_ms: u32) -> StaticNextHop {
    nh.probe = Some(ProbeSpec {
        kind: ProbeKind::Icmp,
        target: nh.gateway.unwrap(),
        interval_ms,
        timeout_ms: interval_ms,
        up_threshold: 2,
        down_threshold: 3,
    });
    nh
}

fn route(prefix: &str, distance: u8, hops: Vec<StaticNextHop>) -> StaticRouteConfig {
    StaticRouteConfig {
        prefix: prefix.parse().unwrap(),
        distance,
        target: StaticTarget::Forward(hops),
    }
}

/// A protocol under test and the actions of its last call.
struct Harness {
    p: StaticRouting,
    out: Actions<StaticNotification>,
}

impl Harness {
    fn start(config: StaticRoutingConfig, down: &[u16]) -> (Self, Vec<Action<StaticNotification>>) {
        let mut h = Harness {
            p: StaticRouting::new("static", config, down.iter().copied()),
            out: Actions::new(),
        };
        h.p.start(0, &mut h.out);
        let actions = h.take();
        (h, actions)
    }

    fn take(&mut self) -> Vec<Action<StaticNotification>> {
        self.out.drain().collect()
    }

    fn input(&mut self, now: Nanos, input: Input<StaticEvent>) -> Vec<Action<StaticNotification>> {
        self.p.handle(now, input, &mut self.out);
        self.take()
    }

    fn reconfigure(
        &mut self,
        now: Nanos,
        config: StaticRoutingConfig,
    ) -> Vec<Action<StaticNotification>> {
        self.p.reconfigure(now, &config, &mut self.out);
        self.take()
    }
}

fn rib_updates(actions: &[Action<StaticNotification>]) -> Vec<RibUpdate> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Rib(u) => Some(u.clone()),
            _ => None,
        })
        .collect()
}

fn health(actions: &[Action<StaticNotification>]) -> Vec<(NextHopRef, bool)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(StaticNotification::NextHopHealth { next_hop, live }) => {
                Some((*next_hop, *live))
            }
            _ => None,
        })
        .collect()
}

fn probe_sends(actions: &[Action<StaticNotification>]) -> Vec<(u64, u16)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(StaticNotification::SendProbe { probe, seq, .. }) => {
                Some((*probe, *seq))
            }
            _ => None,
        })
        .collect()
}

fn nh_ref(gw: &str, port: u16) -> NextHopRef {
    NextHopRef {
        port,
        gateway: Some(ip(gw)),
    }
}

fn set_prefixes(updates: &[RibUpdate]) -> Vec<(String, u32)> {
    updates
        .iter()
        .filter_map(|u| match u {
            RibUpdate::SetCandidate { prefix, candidate } => {
                Some((prefix.to_string(), candidate.instance))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn start_installs_every_route_as_a_static_candidate_per_distance() {
    let config = StaticRoutingConfig {
        routes: vec![
            route(
                "0.0.0.0/0",
                1,
                vec![hop("10.0.0.254", 0, 0), hop("10.1.0.254", 1, 1)],
            ),
            route("0.0.0.0/0", 10, vec![hop("10.1.0.254", 1, 0)]),
            StaticRouteConfig {
                prefix: "192.0.2.0/24".parse().unwrap(),
                distance: 1,
                target: StaticTarget::Blackhole,
            },
        ],
    };
    let (_h, actions) = Harness::start(config, &[]);
    let updates = rib_updates(&actions);
    assert_eq!(
        set_prefixes(&updates),
        vec![
            ("0.0.0.0/0".into(), 1),
            ("0.0.0.0/0".into(), 10),
            ("192.0.2.0/24".into(), 1)
        ],
        "floating static routes are separate candidates, instance = distance"
    );
    let RibUpdate::SetCandidate { candidate, .. } = &updates[0] else {
        unreachable!()
    };
    assert_eq!(candidate.source, RouteSource::Static);
    assert_eq!(candidate.distance, 1);
    let RouteKind::Forward(hops) = &candidate.kind else {
        panic!("forwarding route expected")
    };
    assert_eq!(hops.len(), 2, "both tiers reach the RIB");
    assert_eq!((hops[1].tier, hops[1].port), (1, Some(1)));
    let RibUpdate::SetCandidate { candidate, .. } = &updates[2] else {
        unreachable!()
    };
    assert_eq!(candidate.kind, RouteKind::Blackhole);
    assert_eq!(
        health(&actions),
        vec![
            (nh_ref("10.0.0.254", 0), true),
            (nh_ref("10.1.0.254", 1), true)
        ],
        "each next hop's health is reported once, shared by its routes"
    );
}

#[test]
fn link_down_marks_next_hops_unhealthy_and_withdraws_routes_left_with_none() {
    let config = StaticRoutingConfig {
        routes: vec![
            route(
                "0.0.0.0/0",
                1,
                vec![hop("10.0.0.254", 0, 0), hop("10.1.0.254", 1, 1)],
            ),
            route("10.9.0.0/16", 1, vec![hop("10.0.0.254", 0, 0)]),
        ],
    };
    let (mut h, _) = Harness::start(config, &[]);
    let actions = h.input(5 * MS, Input::Interface { port: 0, up: false });
    assert_eq!(health(&actions), vec![(nh_ref("10.0.0.254", 0), false)]);
    assert_eq!(
        rib_updates(&actions),
        vec![RibUpdate::RemoveCandidate {
            prefix: "10.9.0.0/16".parse().unwrap(),
            key: CandidateKey {
                source: RouteSource::Static,
                instance: 1
            }
        }],
        "only the route with no healthy next hop left goes; the default keeps its group"
    );
    assert!(
        h.input(6 * MS, Input::Interface { port: 0, up: false })
            .is_empty(),
        "no change, no action"
    );
    let actions = h.input(7 * MS, Input::Interface { port: 0, up: true });
    assert_eq!(health(&actions), vec![(nh_ref("10.0.0.254", 0), true)]);
    assert_eq!(
        set_prefixes(&rib_updates(&actions)),
        vec![("10.9.0.0/16".into(), 1)]
    );
}

#[test]
fn a_port_down_at_start_keeps_its_routes_out_until_it_comes_up() {
    let config = StaticRoutingConfig {
        routes: vec![route("10.9.0.0/16", 1, vec![hop("10.0.0.254", 0, 0)])],
    };
    let (mut h, actions) = Harness::start(config, &[0]);
    assert!(rib_updates(&actions).is_empty());
    assert_eq!(health(&actions), vec![(nh_ref("10.0.0.254", 0), false)]);
    let actions = h.input(MS, Input::Interface { port: 0, up: true });
    assert_eq!(
        set_prefixes(&rib_updates(&actions)),
        vec![("10.9.0.0/16".into(), 1)]
    );
}

#[test]
fn a_probed_next_hop_starts_unhealthy_comes_up_on_answers_and_goes_down_on_silence() {
    let config = StaticRoutingConfig {
        routes: vec![route(
            "0.0.0.0/0",
            1,
            vec![probed(hop("10.0.0.254", 0, 0), 100)],
        )],
    };
    let (mut h, actions) = Harness::start(config, &[]);
    assert!(
        rib_updates(&actions).is_empty(),
        "never route to a gateway not yet heard from"
    );
    assert_eq!(health(&actions), vec![(nh_ref("10.0.0.254", 0), false)]);
    let sends = probe_sends(&actions);
    assert_eq!(sends.len(), 1, "the first probe goes out at start");
    let (probe, seq) = sends[0];
    assert!(
        actions
            .iter()
            .any(|a| matches!(a, Action::ArmTimer { token, .. } if *token == probe))
    );

    // First answer: up-threshold is 2, not yet.
    let actions = h.input(
        10 * MS,
        Input::Protocol(StaticEvent::ProbeReply { probe, seq }),
    );
    assert!(health(&actions).is_empty());
    let actions = h.input(100 * MS, Input::Timer(probe));
    let (_, seq2) = probe_sends(&actions)[0];
    assert_ne!(seq2, seq);
    // A stale or foreign answer counts for nothing.
    let actions = h.input(
        105 * MS,
        Input::Protocol(StaticEvent::ProbeReply { probe, seq }),
    );
    assert!(health(&actions).is_empty());
    let actions = h.input(
        110 * MS,
        Input::Protocol(StaticEvent::ProbeReply { probe, seq: seq2 }),
    );
    assert_eq!(health(&actions), vec![(nh_ref("10.0.0.254", 0), true)]);
    assert_eq!(
        set_prefixes(&rib_updates(&actions)),
        vec![("0.0.0.0/0".into(), 1)]
    );
    assert!(actions.iter().any(|a| matches!(
        a,
        Action::Notify(StaticNotification::ProbeState { up: true, .. })
    )));

    // Silence: three intervals without an answer (down-threshold 3).
    let mut went_down_at = None;
    for tick in 2..8u64 {
        let actions = h.input(tick * 100 * MS, Input::Timer(probe));
        if health(&actions) == vec![(nh_ref("10.0.0.254", 0), false)] {
            assert!(
                matches!(
                    rib_updates(&actions).as_slice(),
                    [RibUpdate::RemoveCandidate { .. }]
                ),
                "the route goes with its only next hop"
            );
            went_down_at = Some(tick);
            break;
        }
    }
    assert_eq!(
        went_down_at,
        Some(5),
        "down after the third missed answer (probes sent at 200, 300, 400 ms time out at 300, 400, 500 ms)"
    );
}

#[test]
fn reconfigure_touches_only_what_changed() {
    let base = vec![
        route(
            "0.0.0.0/0",
            1,
            vec![
                probed(hop("10.0.0.254", 0, 0), 100),
                hop("10.1.0.254", 1, 1),
            ],
        ),
        route("10.9.0.0/16", 1, vec![hop("10.1.0.254", 1, 0)]),
    ];
    let (mut h, actions) = Harness::start(
        StaticRoutingConfig {
            routes: base.clone(),
        },
        &[],
    );
    let (probe, _) = probe_sends(&actions)[0];

    // A new route: one RIB update, nothing else (the probe keeps running).
    let mut more = base.clone();
    more.push(route("10.10.0.0/16", 5, vec![hop("10.1.0.254", 1, 0)]));
    let actions = h.reconfigure(
        MS,
        StaticRoutingConfig {
            routes: more.clone(),
        },
    );
    assert_eq!(
        set_prefixes(&rib_updates(&actions)),
        vec![("10.10.0.0/16".into(), 5)]
    );
    assert!(
        actions.iter().all(|a| matches!(a, Action::Rib(_))),
        "no probe restarted, no health re-reported: {actions:?}"
    );

    // The same config again: nothing at all.
    assert!(
        h.reconfigure(
            2 * MS,
            StaticRoutingConfig {
                routes: more.clone()
            }
        )
        .is_empty()
    );

    // A slower probe: retimed, not restarted (same id, no new first send).
    let mut slower = more.clone();
    if let StaticTarget::Forward(hops) = &mut slower[0].target {
        hops[0].probe.as_mut().unwrap().interval_ms = 500;
    }
    let actions = h.reconfigure(
        3 * MS,
        StaticRoutingConfig {
            routes: slower.clone(),
        },
    );
    assert!(rib_updates(&actions).is_empty());
    assert!(health(&actions).is_empty());
    assert!(
        actions
            .iter()
            .all(|a| !matches!(a, Action::ArmTimer { token, .. } if *token != probe)),
        "the same probe is retimed"
    );

    // Removing the route withdraws it; removing the probe cancels its timer.
    let mut fewer = slower.clone();
    fewer.remove(2);
    if let StaticTarget::Forward(hops) = &mut fewer[0].target {
        hops[0].probe = None;
    }
    let actions = h.reconfigure(4 * MS, StaticRoutingConfig { routes: fewer });
    assert!(actions.contains(&Action::CancelTimer { token: probe }));
    assert!(rib_updates(&actions).contains(&RibUpdate::RemoveCandidate {
        prefix: "10.10.0.0/16".parse().unwrap(),
        key: CandidateKey {
            source: RouteSource::Static,
            instance: 5
        }
    }));
    assert_eq!(
        health(&actions),
        vec![(nh_ref("10.0.0.254", 0), true)],
        "without its probe, gw 10.0.0.254 is healthy by link state alone"
    );
}

#[test]
fn a_bfd_guarded_next_hop_is_healthy_only_while_its_session_is_up() {
    let mut primary = hop("10.0.0.254", 0, 0);
    primary.bfd = true;
    let config = StaticRoutingConfig {
        routes: vec![
            route(
                "0.0.0.0/0",
                1,
                vec![primary.clone(), hop("10.1.0.254", 1, 1)],
            ),
            route("10.9.0.0/16", 1, vec![primary]),
        ],
    };
    let (mut h, actions) = Harness::start(config, &[]);
    assert_eq!(
        health(&actions),
        vec![
            (nh_ref("10.0.0.254", 0), false),
            (nh_ref("10.1.0.254", 1), true)
        ],
        "no session yet: not healthy"
    );
    assert_eq!(
        set_prefixes(&rib_updates(&actions)),
        vec![("0.0.0.0/0".into(), 1)]
    );

    let up = Input::Bfd {
        peer: ip("10.0.0.254"),
        up: true,
    };
    let actions = h.input(MS, up.clone());
    assert_eq!(health(&actions), vec![(nh_ref("10.0.0.254", 0), true)]);
    assert_eq!(
        set_prefixes(&rib_updates(&actions)),
        vec![("10.9.0.0/16".into(), 1)]
    );
    assert!(
        h.input(2 * MS, up).is_empty(),
        "a repeated Up changes nothing"
    );
    // Another peer's session says nothing about this one.
    assert!(
        h.input(
            3 * MS,
            Input::Bfd {
                peer: ip("10.1.0.254"),
                up: false
            }
        )
        .is_empty()
    );

    let actions = h.input(
        4 * MS,
        Input::Bfd {
            peer: ip("10.0.0.254"),
            up: false,
        },
    );
    assert_eq!(health(&actions), vec![(nh_ref("10.0.0.254", 0), false)]);
    assert_eq!(
        rib_updates(&actions),
        vec![RibUpdate::RemoveCandidate {
            prefix: "10.9.0.0/16".parse().unwrap(),
            key: CandidateKey {
                source: RouteSource::Static,
                instance: 1
            }
        }],
        "the route with only the BFD-guarded next hop goes; the default keeps its backup"
    );
}

#[test]
fn shutdown_withdraws_everything_and_cancels_probes() {
    let config = StaticRoutingConfig {
        routes: vec![
            route("0.0.0.0/0", 1, vec![hop("10.0.0.254", 0, 0)]),
            route("10.9.0.0/16", 1, vec![probed(hop("10.1.0.254", 1, 0), 50)]),
        ],
    };
    let (mut h, actions) = Harness::start(config, &[]);
    let (probe, _) = probe_sends(&actions)[0];
    h.p.shutdown(MS, &mut h.out);
    let actions = h.take();
    assert!(actions.contains(&Action::CancelTimer { token: probe }));
    assert_eq!(
        rib_updates(&actions)
            .iter()
            .filter(|u| matches!(u, RibUpdate::RemoveCandidate { .. }))
            .count(),
        1,
        "the one installed route is withdrawn (the probed one never was)"
    );
}
