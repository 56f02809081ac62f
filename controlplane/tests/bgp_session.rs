//! BGP sessions with a fake clock: routes into the RIB (RFC 4271 §9, RFC
//! 7606), maximum-prefix, route refresh, BFD, graceful restart helper,
//! reconfiguration and shutdown; two instances back to back through a fake
//! TCP, recorded and replayed; and arbitrary bytes against a session.

mod bgp_harness;

use std::collections::{BTreeMap, VecDeque};
use std::net::{IpAddr, SocketAddr};

use bgp_harness::*;
use controlplane::bgp::config::{Family, FirstAsCheck, MaxPrefix};
use controlplane::bgp::event::Reason;
use controlplane::bgp::fsm::State;
use controlplane::bgp::packet::{
    Afi, AsPath, Capability, DecodeContext, Message, MpPrefixes, MpReach, MpUnreach, Open, Origin,
    PathAttributes, RouteRefresh, RouteRefreshSubtype, Safi, Update,
};
use controlplane::bgp::timer::TimerKind;
use controlplane::bgp::{Bgp, BgpConfig, BgpEvent, BgpNotification, ConnId, NeighborConfig};
use controlplane::protocol::{Action, Input};
use controlplane::recorder::replay;
use controlplane::rib::{Candidate, CandidateKey, RouteKind};
use controlplane::route::{RibUpdate, RouteNextHop, RouteSource};
use ipnet::IpNet;
use proptest::prelude::*;

fn net(text: &str) -> IpNet {
    text.parse().unwrap()
}

fn both_families(address: IpAddr, asn: u32) -> NeighborConfig {
    NeighborConfig {
        families: vec![Family::Ipv4Unicast, Family::Ipv6Unicast],
        ..NeighborConfig::new(address, asn)
    }
}

fn attrs(path: &[u32], next_hop: Option<&str>) -> PathAttributes {
    PathAttributes {
        origin: Some(Origin::Igp),
        as_path: Some(AsPath::from_sequence(path.iter().copied())),
        next_hop: next_hop.map(|n| n.parse().unwrap()),
        ..PathAttributes::default()
    }
}

fn announce(prefixes: &[&str], path: &[u32], next_hop: &str) -> Message {
    Message::Update(Update {
        attrs: attrs(path, Some(next_hop)),
        nlri: prefixes.iter().map(|p| p.parse().unwrap()).collect(),
        ..Update::default()
    })
}

fn withdraw(prefixes: &[&str]) -> Message {
    Message::Update(Update {
        withdrawn: prefixes.iter().map(|p| p.parse().unwrap()).collect(),
        ..Update::default()
    })
}

fn ebgp_candidate(instance: u32, gateway: &str) -> Candidate {
    Candidate {
        source: RouteSource::Ebgp,
        instance,
        distance: 20,
        metric: 0,
        kind: RouteKind::Forward(vec![RouteNextHop {
            gateway: Some(gateway.parse().unwrap()),
            port: None,
            weight: 1,
            tier: 0,
        }]),
    }
}

fn set(prefix: &str, candidate: Candidate) -> RibUpdate {
    RibUpdate::SetCandidate {
        prefix: net(prefix),
        candidate,
    }
}

fn remove(prefix: &str, source: RouteSource, instance: u32) -> RibUpdate {
    RibUpdate::RemoveCandidate {
        prefix: net(prefix),
        key: CandidateKey { source, instance },
    }
}

/// A started instance with the default neighbor Established.
fn established(neighbor: NeighborConfig, open: &Open) -> (Harness, ConnId) {
    let (mut h, _) = Harness::started(config(vec![neighbor]));
    let (conn, _) = h.establish(peer(), open);
    (h, conn)
}

fn send(h: &mut Harness, conn: ConnId, message: &Message) -> Acts {
    h.message(conn, message, &session_ctx())
}

#[test]
fn updates_become_rib_candidates_and_withdrawals_remove_them() {
    let (mut h, conn) = established(both_families(peer(), PEER_AS), &default_open());
    let actions = send(
        &mut h,
        conn,
        &announce(
            &["10.1.0.0/16", "10.2.0.0/16"],
            &[PEER_AS, 64500],
            "192.0.2.2",
        ),
    );
    assert_eq!(
        rib(&actions),
        vec![
            set("10.1.0.0/16", ebgp_candidate(1, "192.0.2.2")),
            set("10.2.0.0/16", ebgp_candidate(1, "192.0.2.2")),
        ]
    );
    // IPv6 in MP_REACH_NLRI: the global next hop (RFC 2545 §3).
    let v6 = Message::Update(Update {
        attrs: attrs(&[PEER_AS], None),
        mp_reach: Some(MpReach::ipv6_unicast(
            "2001:db8::2".parse().unwrap(),
            Some("fe80::2".parse().unwrap()),
            vec!["2001:db8:100::/48".parse().unwrap()],
        )),
        ..Update::default()
    });
    let actions = send(&mut h, conn, &v6);
    assert_eq!(
        rib(&actions),
        vec![set("2001:db8:100::/48", ebgp_candidate(1, "2001:db8::2"))]
    );
    // Same prefix, new attributes but the same next hop: the RIB candidate
    // does not change. A new next hop replaces it.
    let actions = send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[PEER_AS, 64501, 64502], "192.0.2.2"),
    );
    assert!(rib(&actions).is_empty());
    let actions = send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[PEER_AS], "192.0.2.9"),
    );
    assert_eq!(
        rib(&actions),
        vec![set("10.1.0.0/16", ebgp_candidate(1, "192.0.2.9"))]
    );
    // Withdrawals, classic and MP; unknown prefixes are no-ops.
    let actions = send(&mut h, conn, &withdraw(&["10.2.0.0/16", "10.99.0.0/16"]));
    assert_eq!(
        rib(&actions),
        vec![remove("10.2.0.0/16", RouteSource::Ebgp, 1)]
    );
    let v6_gone = Message::Update(Update {
        mp_unreach: Some(MpUnreach {
            afi: Afi::Ipv6,
            safi: Safi::Unicast,
            withdrawn: MpPrefixes::Ipv6(vec!["2001:db8:100::/48".parse().unwrap()]),
        }),
        ..Update::default()
    });
    let actions = send(&mut h, conn, &v6_gone);
    assert_eq!(
        rib(&actions),
        vec![remove("2001:db8:100::/48", RouteSource::Ebgp, 1)]
    );
    // End-of-RIB (RFC 4724 §2) for each family reaches the owner.
    let actions = send(
        &mut h,
        conn,
        &Message::Update(Update::end_of_rib(Afi::Ipv6, Safi::Unicast)),
    );
    assert_eq!(
        notified(&actions),
        vec![BgpNotification::EndOfRib {
            peer: peer(),
            afi: Afi::Ipv6,
            safi: Safi::Unicast
        }]
    );
    let p = h.bgp.peer(peer()).unwrap();
    assert_eq!(p.adj_rib_in().len(), 1);
    assert_eq!(p.stats().updates_in, 7);
}

#[test]
fn internal_routes_are_ibgp_candidates() {
    let ibgp = NeighborConfig::new(peer(), LOCAL_AS);
    let open = peer_open(LOCAL_AS, 90, [192, 0, 2, 2]);
    let (mut h, conn) = established(ibgp, &open);
    let ctx = DecodeContext {
        ibgp: true,
        ..session_ctx()
    };
    let mut update = Update {
        attrs: attrs(&[], Some("198.51.100.9")),
        nlri: vec!["10.5.0.0/16".parse().unwrap()],
        ..Update::default()
    };
    update.attrs.local_pref = Some(200);
    let actions = h.message(conn, &Message::Update(update), &ctx);
    assert_eq!(
        rib(&actions),
        vec![set(
            "10.5.0.0/16",
            Candidate {
                source: RouteSource::Ibgp,
                distance: 200,
                ..ebgp_candidate(1, "198.51.100.9")
            }
        )]
    );
    assert_eq!(
        h.bgp
            .peer(peer())
            .unwrap()
            .transport(&controlplane::bgp::negotiation::LocalSpeaker {
                asn: LOCAL_AS,
                router_id: local_id()
            })
            .ttl,
        255
    );
}

/// An UPDATE from raw parts: withdrawn routes, path attributes, NLRI.
fn raw_update(withdrawn: &[u8], attrs: &[u8], nlri: &[u8]) -> Vec<u8> {
    let len = 19 + 2 + withdrawn.len() + 2 + attrs.len() + nlri.len();
    let mut m = vec![0xff; 16];
    m.extend((len as u16).to_be_bytes());
    m.push(2);
    m.extend((withdrawn.len() as u16).to_be_bytes());
    m.extend(withdrawn);
    m.extend((attrs.len() as u16).to_be_bytes());
    m.extend(attrs);
    m.extend(nlri);
    m
}

const ORIGIN_IGP: [u8; 4] = [0x40, 1, 1, 0];
/// AS_PATH: one AS_SEQUENCE of AS 65001, four-octet.
const PATH_65001: [u8; 9] = [0x40, 2, 6, 2, 1, 0, 0, 0xfd, 0xe9];
const NEXT_HOP: [u8; 7] = [0x40, 3, 4, 192, 0, 2, 2];
/// 10.1.0.0/16
const NLRI: [u8; 3] = [16, 10, 1];

#[test]
fn rfc7606_outcomes_reach_the_rib() {
    let (mut h, conn) = established(neighbor(), &default_open());
    let good = [&ORIGIN_IGP[..], &PATH_65001, &NEXT_HOP].concat();
    let actions = h.bytes(conn, raw_update(&[], &good, &NLRI));
    assert_eq!(
        rib(&actions),
        vec![set("10.1.0.0/16", ebgp_candidate(1, "192.0.2.2"))]
    );

    // Treat-as-withdraw (RFC 7606 §7.1): ORIGIN 7 withdraws the prefix and
    // the session stays up without a NOTIFICATION.
    let bad_origin = [&[0x40, 1, 1, 7][..], &PATH_65001, &NEXT_HOP].concat();
    let actions = h.bytes(conn, raw_update(&[], &bad_origin, &NLRI));
    assert_eq!(
        rib(&actions),
        vec![remove("10.1.0.0/16", RouteSource::Ebgp, 1)]
    );
    assert!(notification_bytes(&actions).is_empty());
    assert_eq!(h.state(peer()), State::Established);

    // Treat-as-withdraw: a missing NEXT_HOP (RFC 7606 §3.d), a zero-length
    // AS_PATH segment (§7.2) — nothing reaches the RIB.
    let no_next_hop = [&ORIGIN_IGP[..], &PATH_65001].concat();
    let empty_segment = [&ORIGIN_IGP[..], &[0x40, 2, 2, 2, 0], &NEXT_HOP].concat();
    for attrs in [no_next_hop, empty_segment] {
        let actions = h.bytes(conn, raw_update(&[], &attrs, &NLRI));
        assert!(rib(&actions).is_empty(), "{actions:#?}");
        assert!(notification_bytes(&actions).is_empty());
    }
    assert!(h.bgp.peer(peer()).unwrap().adj_rib_in().is_empty());

    // Attribute discard (RFC 7606 §7.7): an AGGREGATOR of 3 octets is
    // dropped and the route is used.
    let bad_aggregator = [&good[..], &[0xc0, 7, 3, 1, 2, 3]].concat();
    let actions = h.bytes(conn, raw_update(&[], &bad_aggregator, &NLRI));
    assert_eq!(
        rib(&actions),
        vec![set("10.1.0.0/16", ebgp_candidate(1, "192.0.2.2"))]
    );
    let stored = h
        .bgp
        .peer(peer())
        .unwrap()
        .adj_rib_in()
        .get(&net("10.1.0.0/16"))
        .unwrap()
        .attrs
        .aggregator;
    assert_eq!(stored, None);

    // Session reset (RFC 7606 §5.3): a /33 in the NLRI cannot be parsed.
    let actions = h.bytes(conn, raw_update(&[], &good, &[33, 10, 1, 0, 0, 0]));
    assert_eq!(
        notification_bytes(&actions),
        vec![hex_bytes(&format!("{MARKER}001503030a"))]
    );
    assert_eq!(
        rib(&actions),
        vec![remove("10.1.0.0/16", RouteSource::Ebgp, 1)]
    );
    assert_eq!(h.state(peer()), State::Idle);
}

fn hex_bytes(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn ebgp_first_as_loop_and_next_hop_checks() {
    // First AS not the neighbor's: treat-as-withdraw by default (RFC 7606 §7.2).
    let (mut h, conn) = established(neighbor(), &default_open());
    send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[PEER_AS], "192.0.2.2"),
    );
    let actions = send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[64999, PEER_AS], "192.0.2.2"),
    );
    assert_eq!(
        rib(&actions),
        vec![remove("10.1.0.0/16", RouteSource::Ebgp, 1)]
    );
    assert_eq!(h.state(peer()), State::Established);

    // …or a session reset with UPDATE Message Error / Malformed AS_PATH
    // (RFC 4271 §6.3) when configured.
    let strict = NeighborConfig {
        enforce_first_as: FirstAsCheck::SessionReset,
        ..neighbor()
    };
    let (mut h, conn) = established(strict, &default_open());
    let actions = send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[64999], "192.0.2.2"),
    );
    assert_eq!(
        notification_bytes(&actions),
        vec![hex_bytes(&format!("{MARKER}001503030b"))]
    );
    assert_eq!(h.state(peer()), State::Idle);

    // …or not at all (route servers).
    let off = NeighborConfig {
        enforce_first_as: FirstAsCheck::Off,
        ..neighbor()
    };
    let (mut h, conn) = established(off, &default_open());
    let actions = send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[64999], "192.0.2.2"),
    );
    assert_eq!(rib(&actions).len(), 1);

    // Our AS in the path: kept in Adj-RIB-In (pre-policy), not used.
    let (mut h, conn) = established(neighbor(), &default_open());
    send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[PEER_AS], "192.0.2.2"),
    );
    let actions = send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[PEER_AS, LOCAL_AS], "192.0.2.2"),
    );
    assert_eq!(
        rib(&actions),
        vec![remove("10.1.0.0/16", RouteSource::Ebgp, 1)]
    );
    // NEXT_HOP is our own address on the session (RFC 4271 §6.3): ignored.
    let actions = send(
        &mut h,
        conn,
        &announce(&["10.3.0.0/16"], &[PEER_AS], "192.0.2.1"),
    );
    assert!(rib(&actions).is_empty());
    let p = h.bgp.peer(peer()).unwrap();
    assert_eq!(p.adj_rib_in().len(), 2);
    assert_eq!(p.adj_rib_in().accepted_count(), 0);
    assert_eq!(h.state(peer()), State::Established);
}

fn prefixes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("10.{i}.0.0/16")).collect()
}

fn announce_n(h: &mut Harness, conn: ConnId, from: usize, to: usize) -> Acts {
    let all = prefixes(to);
    let some: Vec<&str> = all[from..to].iter().map(String::as_str).collect();
    send(h, conn, &announce(&some, &[PEER_AS], "192.0.2.2"))
}

#[test]
fn maximum_prefix_warns_or_tears_down_and_restarts() {
    // Warning only: once, and the routes are used.
    let warn = NeighborConfig {
        max_prefix: Some(MaxPrefix {
            limit: 2,
            warning_only: true,
            restart: None,
        }),
        ..neighbor()
    };
    let (mut h, conn) = established(warn, &default_open());
    let actions = announce_n(&mut h, conn, 0, 3);
    assert_eq!(rib(&actions).len(), 3);
    assert!(
        notified(&actions).contains(&BgpNotification::PrefixLimitExceeded {
            peer: peer(),
            count: 3,
            limit: 2,
            teardown: false
        })
    );
    let actions = announce_n(&mut h, conn, 3, 4);
    assert!(
        !notified(&actions)
            .iter()
            .any(|n| matches!(n, BgpNotification::PrefixLimitExceeded { .. }))
    );
    assert_eq!(h.state(peer()), State::Established);

    // Teardown with Cease / Maximum Number of Prefixes Reached, data
    // AFI 1, SAFI 1, limit 2 (RFC 4486 §4); restart 30 s later.
    let teardown = NeighborConfig {
        max_prefix: Some(MaxPrefix {
            limit: 2,
            warning_only: false,
            restart: Some(30),
        }),
        ..neighbor()
    };
    let (mut h, conn) = established(teardown.clone(), &default_open());
    announce_n(&mut h, conn, 0, 2);
    let actions = announce_n(&mut h, conn, 2, 3);
    assert_eq!(
        notification_bytes(&actions),
        vec![hex_bytes(&format!("{MARKER}001c03060100010100000002"))]
    );
    assert_eq!(h.state(peer()), State::Idle);
    let removed = rib(&actions)
        .into_iter()
        .filter(|u| matches!(u, RibUpdate::RemoveCandidate { .. }))
        .count();
    assert_eq!(removed, 3);
    assert!(h.bgp.peer(peer()).unwrap().adj_rib_in().is_empty());
    assert_eq!(h.timer(1, TimerKind::IdleHold), Some(h.now + 30 * SECOND));
    assert!(connects(&h.advance(29 * SECOND)).is_empty());
    let actions = h.advance(SECOND);
    assert_eq!(transitions(&actions), vec![(State::Idle, State::Connect)]);

    // Without a restart time it stays down until cleared.
    let forever = NeighborConfig {
        max_prefix: Some(MaxPrefix {
            restart: None,
            ..teardown.max_prefix.unwrap()
        }),
        ..neighbor()
    };
    let (mut h, conn) = established(forever, &default_open());
    announce_n(&mut h, conn, 0, 3);
    assert_eq!(h.state(peer()), State::Idle);
    assert_eq!(h.timer(1, TimerKind::IdleHold), None);
    assert!(h.advance(3600 * SECOND).is_empty());
    let actions = h.event(BgpEvent::Clear { peer: peer() });
    assert_eq!(transitions(&actions), vec![(State::Idle, State::Connect)]);
}

#[test]
fn route_refresh_requests_reach_the_owner_and_enhanced_refresh_purges() {
    let (mut h, conn) = established(neighbor(), &default_open());
    let refresh = |subtype| {
        Message::RouteRefresh(RouteRefresh {
            afi: Afi::Ipv4,
            safi: Safi::Unicast,
            subtype,
        })
    };
    let actions = send(&mut h, conn, &refresh(RouteRefreshSubtype::Normal));
    assert_eq!(
        notified(&actions),
        vec![BgpNotification::RefreshRequested {
            peer: peer(),
            afi: Afi::Ipv4,
            safi: Safi::Unicast
        }]
    );
    // IPv6 was not negotiated with this neighbor (RFC 2918 §4: ignore).
    let v6 = Message::RouteRefresh(RouteRefresh::new(Afi::Ipv6, Safi::Unicast));
    assert!(send(&mut h, conn, &v6).is_empty());

    // RFC 7313 §4.2: what is not re-sent between BoRR and EoRR goes.
    announce_n(&mut h, conn, 0, 3);
    assert!(
        rib(&send(
            &mut h,
            conn,
            &refresh(RouteRefreshSubtype::BeginOfRefresh)
        ))
        .is_empty()
    );
    let actions = send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[PEER_AS], "192.0.2.2"),
    );
    assert!(rib(&actions).is_empty(), "unchanged route, no RIB churn");
    let actions = send(&mut h, conn, &refresh(RouteRefreshSubtype::EndOfRefresh));
    assert_eq!(
        rib(&actions),
        vec![
            remove("10.0.0.0/16", RouteSource::Ebgp, 1),
            remove("10.2.0.0/16", RouteSource::Ebgp, 1)
        ]
    );
    // Unknown subtypes are ignored (RFC 7313 §5).
    assert!(send(&mut h, conn, &refresh(RouteRefreshSubtype::Unknown(9))).is_empty());
    assert_eq!(h.state(peer()), State::Established);
}

#[test]
fn bfd_down_tears_the_session_down_at_once() {
    let guarded = NeighborConfig {
        bfd: true,
        ..neighbor()
    };
    let (mut h, conn) = established(guarded, &default_open());
    announce_n(&mut h, conn, 0, 2);
    assert!(
        h.input(Input::Bfd {
            peer: peer(),
            up: true
        })
        .is_empty()
    );
    let actions = h.input(Input::Bfd {
        peer: peer(),
        up: false,
    });
    // RFC 5882 §4.3; Cease subcode 10 "BFD Down" (RFC 9384).
    assert_eq!(
        notification_bytes(&actions),
        vec![hex_bytes(&format!("{MARKER}001503060a"))]
    );
    assert_eq!(
        transitions(&actions),
        vec![(State::Established, State::Idle)]
    );
    assert_eq!(
        rib(&actions).len(),
        2,
        "routes withdrawn now, not at hold expiry"
    );
    assert_eq!(closes(&actions), vec![conn]);

    // Without `bfd` the session ignores BFD.
    let (mut h, _) = established(neighbor(), &default_open());
    assert!(
        h.input(Input::Bfd {
            peer: peer(),
            up: false
        })
        .is_empty()
    );
    assert_eq!(h.state(peer()), State::Established);
}

/// Established with two routes, then the TCP connection drops.
fn restarting_peer() -> (Harness, Acts) {
    let (mut h, conn) = established(neighbor(), &default_open());
    announce_n(&mut h, conn, 0, 2);
    let actions = h.event(BgpEvent::Closed { conn });
    (h, actions)
}

fn reconnect(h: &mut Harness, open: &Open) -> (ConnId, Acts) {
    let at = h.timer(1, TimerKind::IdleHold).unwrap();
    h.advance_to(at);
    h.establish(peer(), open)
}

#[test]
fn graceful_restart_helper_keeps_stale_routes_until_end_of_rib() {
    let (mut h, actions) = restarting_peer();
    // RFC 4724 §4.2: no withdrawal, routes marked stale, Restart Time runs.
    assert_eq!(
        transitions(&actions),
        vec![(State::Established, State::Idle)]
    );
    assert!(rib(&actions).is_empty());
    assert!(notification_bytes(&actions).is_empty());
    assert_eq!(h.bgp.peer(peer()).unwrap().adj_rib_in().stale_count(), 2);
    assert_eq!(
        h.timer(1, TimerKind::GracefulRestart),
        Some(h.now + 120 * SECOND)
    );

    let (conn, actions) = reconnect(&mut h, &default_open());
    assert!(rib(&actions).is_empty());
    assert_eq!(h.timer(1, TimerKind::GracefulRestart), None);
    assert!(h.timer(1, TimerKind::StaleRoutes).is_some());
    // The peer re-sends one route: fresh again, no RIB change.
    let actions = send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[PEER_AS], "192.0.2.2"),
    );
    assert!(rib(&actions).is_empty());
    // End-of-RIB: the other one is gone.
    let actions = send(
        &mut h,
        conn,
        &Message::Update(Update::end_of_rib(Afi::Ipv4, Safi::Unicast)),
    );
    assert_eq!(
        rib(&actions),
        vec![remove("10.0.0.0/16", RouteSource::Ebgp, 1)]
    );
    let p = h.bgp.peer(peer()).unwrap();
    assert_eq!((p.adj_rib_in().len(), p.adj_rib_in().stale_count()), (1, 0));
    assert_eq!(h.timer(1, TimerKind::StaleRoutes), None);
}

#[test]
fn graceful_restart_helper_flushes_stale_routes_when_time_runs_out() {
    // Not back within the Restart Time: everything stale goes.
    let (mut h, _) = restarting_peer();
    let deadline = h.timer(1, TimerKind::GracefulRestart).unwrap();
    let actions = h.advance_to(deadline - 1);
    assert!(rib(&actions).is_empty());
    let actions = h.advance_to(deadline);
    assert_eq!(rib(&actions).len(), 2);
    assert!(h.bgp.peer(peer()).unwrap().adj_rib_in().is_empty());

    // Back, but no End-of-RIB: our stale bound (360 s) flushes them.
    let (mut h, _) = restarting_peer();
    reconnect(&mut h, &default_open());
    let bound = h.timer(1, TimerKind::StaleRoutes).unwrap();
    // Keep the session alive meanwhile.
    let conn = h.bgp.peer(peer()).unwrap().connection().conn().unwrap();
    while h.now + 30 * SECOND < bound {
        h.advance(30 * SECOND);
        send(&mut h, conn, &Message::Keepalive);
    }
    let actions = h.advance_to(bound);
    assert_eq!(rib(&actions).len(), 2);
    assert_eq!(h.state(peer()), State::Established);

    // Back without the F bit: the stale routes go at once (RFC 4724 §4.2).
    let (mut h, _) = restarting_peer();
    let mut no_forwarding = default_open();
    for capability in &mut no_forwarding.capabilities {
        if let Capability::GracefulRestart(gr) = capability {
            gr.families
                .iter_mut()
                .for_each(|f| f.forwarding_preserved = false);
        }
    }
    let (_, actions) = reconnect(&mut h, &no_forwarding);
    assert_eq!(rib(&actions).len(), 2);

    // A restart during a restart: routes still stale from the first are
    // deleted, refreshed ones kept (RFC 4724 §4.2).
    let (mut h, _) = restarting_peer();
    let (conn, _) = reconnect(&mut h, &default_open());
    send(
        &mut h,
        conn,
        &announce(&["10.1.0.0/16"], &[PEER_AS], "192.0.2.2"),
    );
    let actions = h.event(BgpEvent::Closed { conn });
    assert_eq!(
        rib(&actions),
        vec![remove("10.0.0.0/16", RouteSource::Ebgp, 1)]
    );
    assert_eq!(h.bgp.peer(peer()).unwrap().adj_rib_in().stale_count(), 1);

    // A NOTIFICATION is not a restart: routes go now.
    let (mut h, conn) = established(neighbor(), &default_open());
    announce_n(&mut h, conn, 0, 2);
    let cease = Message::Notification(controlplane::bgp::packet::Notification::cease(
        controlplane::bgp::packet::CeaseSubcode::AdministrativeReset,
    ));
    let actions = send(&mut h, conn, &cease);
    assert_eq!(rib(&actions).len(), 2);
}

fn three_peers() -> (Harness, [ConnId; 3]) {
    let a = neighbor();
    let b = both_families(ip("198.51.100.2"), 65002);
    let c = NeighborConfig::new(ip("203.0.113.2"), LOCAL_AS);
    let (mut h, _) = Harness::started(config(vec![a, b, c]));
    let (ca, _) = h.establish(peer(), &default_open());
    let (cb, _) = h.establish(ip("198.51.100.2"), &peer_open(65002, 90, [198, 51, 100, 2]));
    let (cc, _) = h.establish(
        ip("203.0.113.2"),
        &peer_open(LOCAL_AS, 90, [203, 0, 113, 2]),
    );
    send(
        &mut h,
        ca,
        &announce(&["10.1.0.0/16"], &[PEER_AS], "192.0.2.2"),
    );
    send(
        &mut h,
        cb,
        &announce(&["10.2.0.0/16"], &[65002], "198.51.100.2"),
    );
    let ibgp = DecodeContext {
        ibgp: true,
        ..session_ctx()
    };
    h.message(cc, &announce(&["10.3.0.0/16"], &[], "203.0.113.9"), &ibgp);
    (h, [ca, cb, cc])
}

/// The peers an action concerns.
fn touched(actions: &[Action<BgpNotification>], index_of: impl Fn(u32) -> IpAddr) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(n) => Some(match n {
                BgpNotification::Connect { peer, .. }
                | BgpNotification::Send { peer, .. }
                | BgpNotification::Close { peer, .. }
                | BgpNotification::PeerTransport { peer, .. }
                | BgpNotification::SessionState { peer, .. }
                | BgpNotification::RefreshRequested { peer, .. }
                | BgpNotification::EndOfRib { peer, .. }
                | BgpNotification::PrefixLimitExceeded { peer, .. } => *peer,
            }),
            Action::Rib(RibUpdate::SetCandidate { candidate, .. }) => {
                Some(index_of(candidate.instance))
            }
            Action::Rib(RibUpdate::RemoveCandidate { key, .. }) => Some(index_of(key.instance)),
            _ => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

#[test]
fn reconfiguration_touches_only_the_neighbor_that_changed() {
    let (mut h, [_, cb, cc]) = three_peers();
    let index_of = |i: u32| {
        [
            peer(),
            ip("198.51.100.2"),
            ip("203.0.113.2"),
            ip("192.0.2.66"),
        ][i as usize - 1]
    };
    let mut cfg = h.bgp.config().clone();

    // A new hold time applies at the next session: nothing happens now.
    cfg.neighbors[1].hold_time = 30;
    assert!(h.reconfigure(cfg.clone()).is_empty());
    assert_eq!(h.state(ip("198.51.100.2")), State::Established);

    // A capability change resets that neighbor only, with Cease / Other
    // Configuration Change (RFC 4486), and its new OPEN has the new hold time.
    cfg.neighbors[1].capabilities.route_refresh = false;
    cfg.neighbors[1].capabilities.enhanced_route_refresh = false;
    let actions = h.reconfigure(cfg.clone());
    assert_eq!(touched(&actions, index_of), vec![ip("198.51.100.2")]);
    assert!(sent_bytes(&actions).contains(&(cb, hex_bytes(&format!("{MARKER}0015030606")))));
    assert_eq!(
        rib(&actions),
        vec![remove("10.2.0.0/16", RouteSource::Ebgp, 2)]
    );
    assert_eq!(h.state(ip("198.51.100.2")), State::Connect);
    let (_, actions) = h.connected(ip("198.51.100.2"));
    match &sent(&actions)[0].1 {
        Message::Open(open) => {
            assert_eq!(open.hold_time, 30);
            assert!(!open.has_capability(2));
        }
        other => panic!("{other:?}"),
    }

    // Removing the iBGP neighbor: Cease / Peer De-configured to it alone.
    let mut fewer = cfg.clone();
    fewer.neighbors.remove(2);
    let actions = h.reconfigure(fewer.clone());
    assert_eq!(touched(&actions, index_of), vec![ip("203.0.113.2")]);
    assert!(sent_bytes(&actions).contains(&(cc, hex_bytes(&format!("{MARKER}0015030603")))));
    assert_eq!(
        rib(&actions),
        vec![remove("10.3.0.0/16", RouteSource::Ibgp, 3)]
    );
    assert!(h.bgp.peer(ip("203.0.113.2")).is_none());
    assert!(
        notified(&actions).contains(&BgpNotification::PeerTransport {
            peer: ip("203.0.113.2"),
            transport: None
        })
    );

    // Adding one starts it alone, under a fresh index.
    let mut more = fewer.clone();
    more.neighbors
        .push(NeighborConfig::new(ip("192.0.2.66"), 65066));
    let actions = h.reconfigure(more.clone());
    assert_eq!(touched(&actions, index_of), vec![ip("192.0.2.66")]);
    assert_eq!(connects(&actions).len(), 1);
    assert_eq!(h.bgp.peer(ip("192.0.2.66")).unwrap().index(), 4);

    // A maximum-prefix below what is held applies at once, to that peer.
    more.neighbors[0].max_prefix = Some(MaxPrefix {
        limit: 0,
        warning_only: true,
        restart: None,
    });
    assert!(
        h.reconfigure(more.clone()).is_empty(),
        "limit 0 is refused: nothing changes"
    );
    more.neighbors[0].max_prefix = Some(MaxPrefix {
        limit: 1,
        warning_only: false,
        restart: None,
    });
    assert!(
        h.reconfigure(more.clone()).is_empty(),
        "1 route is within a limit of 1"
    );
    assert_eq!(h.state(peer()), State::Established);

    // The `network` list changes: Established peers hear of it, nothing resets.
    more.networks = vec![net("172.16.0.0/24")];
    let actions = h.reconfigure(more.clone());
    assert_eq!(touched(&actions, index_of), vec![peer()]);
    let announced = updates(&actions);
    assert_eq!(announced.len(), 1);
    assert_eq!(announced[0].nlri, vec!["172.16.0.0/24".parse().unwrap()]);
    assert_eq!(
        announced[0].attrs.next_hop,
        Some("192.0.2.1".parse().unwrap())
    );
    assert_eq!(
        announced[0].attrs.as_path,
        Some(AsPath::from_sequence([LOCAL_AS]))
    );
    assert!(transitions(&actions).is_empty());
}

#[test]
fn shutdown_says_administrative_shutdown_and_withdraws_everything() {
    let (mut h, [ca, _, cc]) = three_peers();
    let actions = h.shutdown();
    // RFC 8203: Cease / Administrative Shutdown with a length-prefixed message.
    let text = b"vrouterd: BGP shutting down";
    let mut expected = hex_bytes(MARKER);
    expected.extend(((21 + 1 + text.len()) as u16).to_be_bytes());
    expected.extend([3, 6, 2, text.len() as u8]);
    expected.extend(text);
    for conn in [ca, cc] {
        assert!(sent_bytes(&actions).contains(&(conn, expected.clone())));
        assert!(closes(&actions).contains(&conn));
    }
    assert_eq!(notification_bytes(&actions).len(), 3);
    assert_eq!(rib(&actions).len(), 3);
    assert!(h.bgp.peers().all(|p| p.state() == State::Idle));
    // Nothing armed is left behind, and nothing is done afterwards.
    let armed: Vec<_> = actions
        .iter()
        .filter(|a| matches!(a, Action::ArmTimer { .. }))
        .collect();
    assert!(armed.is_empty(), "{armed:?}");
    assert!(h.event(BgpEvent::Closed { conn: ca }).is_empty());
}

#[test]
fn transport_settings_follow_the_neighbor() {
    let speaker = controlplane::bgp::negotiation::LocalSpeaker {
        asn: LOCAL_AS,
        router_id: local_id(),
    };
    let gtsm = NeighborConfig {
        ttl_security_hops: Some(1),
        md5_password: Some("s3cret".into()),
        local_address: Some(ip("192.0.2.1")),
        port: 1179,
        ..neighbor()
    };
    let multihop = NeighborConfig {
        ebgp_multihop: Some(3),
        ..NeighborConfig::new(ip("198.51.100.2"), 65002)
    };
    let h = Harness::new(config(vec![gtsm, multihop]));
    let t = h.bgp.peer(peer()).unwrap().transport(&speaker);
    assert_eq!((t.ttl, t.min_ttl), (255, Some(255)));
    assert_eq!(t.md5.as_deref(), Some("s3cret"));
    assert_eq!(t.remote, sock("192.0.2.2:1179"));
    assert_eq!(t.local, Some(ip("192.0.2.1")));
    let t = h.bgp.peer(ip("198.51.100.2")).unwrap().transport(&speaker);
    assert_eq!((t.ttl, t.min_ttl), (3, None));
}

/// The wire helper's captures of FRR 8.4 (controlplane/tests/bgp/).
fn capture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/bgp/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn a_recorded_frr_session_negotiates_and_installs_its_routes() {
    // FRR's OPEN: AS 65001, hold 180, identifier 10.0.0.1 — ours too, which
    // RFC 6286 §2.2 allows between external peers — both unicast families,
    // ADD-PATH and FQDN (not negotiated), graceful restart without families.
    let (mut h, _) = Harness::started(config(vec![both_families(peer(), PEER_AS)]));
    let (conn, _) = h.connected(peer());
    let actions = h.bytes(conn, capture("frr84_open.bin"));
    assert_eq!(
        transitions(&actions),
        vec![(State::OpenSent, State::OpenConfirm)]
    );
    let s = h.bgp.peer(peer()).unwrap().session().unwrap().clone();
    assert_eq!(s.hold_time, 90);
    assert_eq!(s.families, vec![Family::Ipv4Unicast, Family::Ipv6Unicast]);
    assert!(s.four_octet_as && s.route_refresh && s.enhanced_route_refresh);
    assert!(s.extended_messages);
    assert!(s.graceful_restart_families().is_empty());
    // KEEPALIVE and an IPv6 UPDATE (a /40 and ::/0, global and link-local
    // next hops), in one read.
    let mut stream = capture("keepalive.bin");
    stream.extend(capture("frr84_update_ipv6_link_local.bin"));
    let actions = h.bytes(conn, stream);
    assert_eq!(
        transitions(&actions),
        vec![(State::OpenConfirm, State::Established)]
    );
    assert_eq!(
        rib(&actions),
        vec![
            set("2001:db8:100::/40", ebgp_candidate(1, "2001:db8::1")),
            set("::/0", ebgp_candidate(1, "2001:db8::1")),
        ]
    );
    // ROUTE-REFRESH BoRR is fine, then FRR's shutdown NOTIFICATION (RFC 8203).
    let mut stream = capture("route_refresh_borr.bin");
    stream.extend(capture("notification_shutdown.bin"));
    let actions = h.bytes(conn, stream);
    assert_eq!(
        transitions(&actions),
        vec![(State::Established, State::Idle)]
    );
    assert_eq!(
        rib(&actions),
        vec![
            remove("::/0", RouteSource::Ebgp, 1),
            remove("2001:db8:100::/40", RouteSource::Ebgp, 1),
        ]
    );
    assert!(matches!(
        h.bgp.peer(peer()).unwrap().last_reason(),
        Some(Reason::Received(n)) if n.shutdown_communication() == Some("maintenance")
    ));
    // No graceful restart family: a NOTIFICATION or a TCP loss both flush.
    assert!(h.bgp.peer(peer()).unwrap().adj_rib_in().is_empty());
}

// ---------------------------------------------------------------------------
// Two speakers back to back
// ---------------------------------------------------------------------------

/// Shuttles connections and bytes between two instances the way two
/// kernels would.
struct FakeTcp {
    /// (side, conn) → (other side, its conn).
    links: BTreeMap<(usize, ConnId), (usize, ConnId)>,
    addresses: [IpAddr; 2],
    next_inbound: u64,
    queue: VecDeque<(usize, BgpEvent)>,
}

impl FakeTcp {
    fn side_of(&self, address: IpAddr) -> Option<usize> {
        self.addresses.iter().position(|a| *a == address)
    }

    fn carry(&mut self, from: usize, actions: &[Action<BgpNotification>]) {
        for action in actions {
            let Action::Notify(n) = action else { continue };
            match n {
                BgpNotification::Connect {
                    conn, transport, ..
                } => {
                    let Some(to) = self.side_of(transport.remote.ip()) else {
                        self.queue
                            .push_back((from, BgpEvent::ConnectFailed { conn: *conn }));
                        continue;
                    };
                    self.next_inbound += 1;
                    let inbound = ConnId::Inbound(self.next_inbound);
                    let client =
                        SocketAddr::new(self.addresses[from], 40000 + self.next_inbound as u16);
                    let server = SocketAddr::new(self.addresses[to], 179);
                    self.links.insert((from, *conn), (to, inbound));
                    self.links.insert((to, inbound), (from, *conn));
                    self.queue.push_back((
                        to,
                        BgpEvent::Accepted {
                            conn: inbound,
                            local: server,
                            remote: client,
                        },
                    ));
                    self.queue.push_back((
                        from,
                        BgpEvent::Connected {
                            conn: *conn,
                            local: client,
                            remote: server,
                        },
                    ));
                }
                BgpNotification::Send { conn, bytes, .. } => {
                    if let Some((to, other)) = self.links.get(&(from, *conn)) {
                        self.queue.push_back((
                            *to,
                            BgpEvent::Bytes {
                                conn: *other,
                                data: bytes.clone(),
                            },
                        ));
                    }
                }
                BgpNotification::Close { conn, .. } => {
                    if let Some((to, other)) = self.links.remove(&(from, *conn)) {
                        self.links.remove(&(to, other));
                        self.queue.push_back((to, BgpEvent::Closed { conn: other }));
                    }
                }
                _ => {}
            }
        }
    }
}

fn pump(net: &mut FakeTcp, sides: &mut [Harness; 2]) {
    while let Some((to, event)) = net.queue.pop_front() {
        let actions = sides[to].event(event);
        net.carry(to, &actions);
    }
}

/// Runs both until `until`, timers and traffic interleaved in time order.
fn run_until(net: &mut FakeTcp, sides: &mut [Harness; 2], until: u64) {
    loop {
        pump(net, sides);
        let next = sides
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.next_timer().map(|(at, _)| (at, i)))
            .min();
        match next {
            Some((at, side)) if at <= until => {
                for h in sides.iter_mut() {
                    h.advance_to(at.saturating_sub(1).max(h.now));
                }
                let actions = sides[side].advance_to(at);
                net.carry(side, &actions);
            }
            _ => break,
        }
    }
    for (side, h) in sides.iter_mut().enumerate() {
        let actions = h.advance_to(until);
        net.carry(side, &actions);
    }
    pump(net, sides);
}

fn speaker_config(
    asn: u32,
    id: [u8; 4],
    neighbor: &str,
    remote_as: u32,
    network: &str,
) -> BgpConfig {
    BgpConfig {
        seed: u64::from(id[3]),
        networks: vec![net(network)],
        neighbors: vec![NeighborConfig::new(ip(neighbor), remote_as)],
        ..BgpConfig::new(asn, id.into())
    }
}

fn installed(actions: &[Action<BgpNotification>]) -> BTreeMap<IpNet, Candidate> {
    let mut table = BTreeMap::new();
    for update in rib(actions) {
        match update {
            RibUpdate::SetCandidate { prefix, candidate } => {
                table.insert(prefix, candidate);
            }
            RibUpdate::RemoveCandidate { prefix, .. } => {
                table.remove(&prefix);
            }
            _ => {}
        }
    }
    table
}

#[test]
fn two_speakers_back_to_back_exchange_routes_and_replay_identically() {
    let r1_cfg = speaker_config(65000, [10, 0, 0, 1], "10.0.12.2", 65001, "172.16.1.0/24");
    let r2_cfg = speaker_config(65001, [10, 0, 0, 2], "10.0.12.1", 65000, "172.16.2.0/24");
    let mut sides = [
        Harness::named("bgp-r1", r1_cfg.clone()),
        Harness::named("bgp-r2", r2_cfg.clone()),
    ];
    let mut tcp = FakeTcp {
        links: BTreeMap::new(),
        addresses: [ip("10.0.12.1"), ip("10.0.12.2")],
        next_inbound: 0,
        queue: VecDeque::new(),
    };
    // Both connect at the same instant: a collision (RFC 4271 §6.8) the
    // higher identifier (10.0.0.2, R2) resolves in favour of its connection.
    for (side, h) in sides.iter_mut().enumerate() {
        let actions = h.start();
        tcp.carry(side, &actions);
    }
    run_until(&mut tcp, &mut sides, 5 * SECOND);
    for (h, other) in [(&sides[0], "10.0.12.2"), (&sides[1], "10.0.12.1")] {
        let p = h.bgp.peer(ip(other)).unwrap();
        assert_eq!(
            p.state(),
            State::Established,
            "{}",
            h.bgp.config().router_id
        );
        assert!(p.colliding_connection().is_none());
    }
    let collision = hex_bytes(&format!("{MARKER}0015030607"));
    let resolved = sides
        .iter()
        .flat_map(|h| sent_bytes(&h.history))
        .any(|(_, bytes)| bytes == collision);
    assert!(resolved, "the simultaneous connections collided");
    let kept = sides[1]
        .bgp
        .peer(ip("10.0.12.1"))
        .unwrap()
        .connection()
        .conn()
        .unwrap();
    assert!(
        kept.is_outbound(),
        "R2 (higher identifier) keeps the connection it opened"
    );
    assert_eq!(
        installed(&sides[0].history).get(&net("172.16.2.0/24")),
        Some(&ebgp_candidate(1, "10.0.12.2"))
    );
    assert_eq!(
        installed(&sides[1].history).get(&net("172.16.1.0/24")),
        Some(&ebgp_candidate(1, "10.0.12.1"))
    );

    // Keepalives hold the session for ten minutes.
    run_until(&mut tcp, &mut sides, 600 * SECOND);
    assert_eq!(sides[0].state(ip("10.0.12.2")), State::Established);
    assert!(
        sides[0]
            .bgp
            .peer(ip("10.0.12.2"))
            .unwrap()
            .stats()
            .keepalives_in
            >= 20
    );

    // R2 stops originating its network: R1 withdraws it.
    let mut r2_less = r2_cfg.clone();
    r2_less.networks.clear();
    let actions = sides[1].reconfigure(r2_less);
    tcp.carry(1, &actions);
    run_until(&mut tcp, &mut sides, 601 * SECOND);
    assert_eq!(
        installed(&sides[0].history).get(&net("172.16.2.0/24")),
        None
    );

    // R1 shuts down: R2 hears why and drops R1's route.
    let actions = sides[0].shutdown();
    tcp.carry(0, &actions);
    run_until(&mut tcp, &mut sides, 602 * SECOND);
    let went_down = sides[1].history.iter().any(|a| {
        matches!(
            a,
            Action::Notify(BgpNotification::SessionState {
                from: State::Established,
                to: State::Idle,
                reason: Reason::Received(n),
                ..
            }) if n.shutdown_communication() == Some("vrouterd: BGP shutting down")
        )
    });
    assert!(went_down);
    assert_ne!(sides[1].state(ip("10.0.12.1")), State::Established);
    assert_eq!(
        installed(&sides[1].history).get(&net("172.16.1.0/24")),
        None
    );

    // Replay each recording into a fresh instance: the very same actions.
    for (h, cfg, name) in [
        (&sides[0], &r1_cfg, "bgp-r1"),
        (&sides[1], &r2_cfg, "bgp-r2"),
    ] {
        let recording = h.recorder.get_ref().clone();
        let mut fresh = Bgp::new(name, cfg.clone());
        let replayed = replay(recording.as_slice(), &mut fresh).unwrap();
        assert_eq!(replayed, h.history);
    }
}

// ---------------------------------------------------------------------------
// Whatever the peer sends
// ---------------------------------------------------------------------------

/// A chunk of the stream: random bytes, or a message with a valid header
/// and a random body, so the body parsers are reached too.
fn chunk() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        (1u8..=5, proptest::collection::vec(any::<u8>(), 0..120)).prop_map(|(kind, body)| {
            let mut m = vec![0xff; 16];
            m.extend(((19 + body.len()) as u16).to_be_bytes());
            m.push(kind);
            m.extend(body);
            m
        }),
        (
            proptest::collection::vec(any::<u8>(), 0..24),
            proptest::collection::vec(any::<u8>(), 0..16)
        )
            .prop_map(|(attrs, nlri)| {
                let base = [&ORIGIN_IGP[..], &PATH_65001, &NEXT_HOP, &attrs].concat();
                raw_update(&[], &base, &nlri)
            }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Nothing panics; the session either stays up or ends with a
    /// NOTIFICATION (sent, or received from the "peer"); and the RIB always
    /// holds exactly the accepted routes of the Adj-RIB-In.
    #[test]
    fn arbitrary_bytes_never_panic_and_keep_the_rib_consistent(
        chunks in proptest::collection::vec(chunk(), 1..12),
        split in 1usize..64,
    ) {
        let (mut h, conn) = established(both_families(peer(), PEER_AS), &default_open());
        send(&mut h, conn, &announce(&["10.1.0.0/16"], &[PEER_AS], "192.0.2.2"));
        let stream: Vec<u8> = chunks.concat();
        for piece in stream.chunks(split) {
            h.bytes(conn, piece.to_vec());
        }
        let p = h.bgp.peer(peer()).unwrap();
        match p.state() {
            State::Established => {}
            State::Idle => prop_assert!(
                matches!(p.last_reason(), Some(Reason::Sent(_)) | Some(Reason::Received(_))),
                "went down without a NOTIFICATION: {:?}",
                p.last_reason()
            ),
            other => prop_assert!(false, "unexpected state {other}"),
        }
        let rib_view = installed(&h.history);
        let accepted: BTreeMap<IpNet, IpAddr> = p
            .adj_rib_in()
            .post_policy()
            .map(|(prefix, route)| (*prefix, route.next_hop))
            .collect();
        let in_rib: BTreeMap<IpNet, IpAddr> = rib_view
            .iter()
            .map(|(prefix, c)| match &c.kind {
                RouteKind::Forward(hops) => (*prefix, hops[0].gateway.unwrap()),
                other => panic!("{other:?}"),
            })
            .collect();
        prop_assert_eq!(in_rib, accepted);
    }
}
