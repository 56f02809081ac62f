//! The BFD sessions the configuration asks for, kept in step with the
//! dataplane's engine.
//!
//! The control plane decides which sessions exist (one per BFD-guarded
//! static next hop today; BGP and OSPF neighbors later) and which next-hop
//! ids each guards; the dataplane runs them. This computes the commands
//! that take the engine from what it has to what is wanted: `Add` for new
//! sessions, `Modify` for changed timers (a poll sequence, no flap),
//! `SetGuards` when the RIB allocated or freed the guarded next hops' ids,
//! `Remove` for the rest. Commands go over a bounded channel that never
//! blocks; what does not fit is kept and sent on the next call.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use controlplane::rib::Rib;
use dataplane::bfd::{
    AuthConfig, AuthKey, AuthType, BfdCommand, DampeningConfig, SessionKey, SessionParams,
};
use dataplane::fib::NextHopId;
use dataplane::port::PortId;

use crate::config::validate_bfd::local_address;
use crate::config::{BfdAuthType, BfdProfile, Config, RouteTarget};

/// One wanted session: its parameters and the next hop it guards.
#[derive(Debug, Clone, PartialEq)]
struct Wanted {
    params: SessionParams,
    guards: (PortId, Option<IpAddr>),
}

/// What the engine was told about a session.
#[derive(Debug, Clone, PartialEq)]
struct Sent {
    params: SessionParams,
    guards: Vec<NextHopId>,
}

#[derive(Debug, Default)]
pub struct BfdSessions {
    wanted: HashMap<SessionKey, Wanted>,
    sent: HashMap<SessionKey, Sent>,
    /// Commands the channel had no room for, oldest first.
    backlog: VecDeque<BfdCommand>,
}

impl BfdSessions {
    /// The sessions `config` asks for, replacing the previous wish.
    pub fn set_config(&mut self, config: &Config) {
        self.wanted.clear();
        for route in &config.static_routes {
            let RouteTarget::NextHops(hops) = &route.target else {
                continue;
            };
            for hop in hops {
                let (Some(profile), Some(peer)) = (&hop.bfd, hop.via) else {
                    continue;
                };
                let Some(port_index) = config.ports.iter().position(|p| p.name == hop.interface)
                else {
                    continue;
                };
                let (Ok(port), Some(local)) = (
                    PortId::try_from(port_index),
                    local_address(&config.ports[port_index], peer),
                ) else {
                    continue;
                };
                let Some(profile) = config.bfd_profile(profile) else {
                    continue;
                };
                // Two routes through one gateway share its session.
                self.wanted
                    .entry(SessionKey::single_hop(port, local, peer))
                    .or_insert(Wanted {
                        params: session_params(&profile),
                        guards: (port, Some(peer)),
                    });
            }
        }
    }

    /// Sends what takes the engine to the wanted sessions, guarding the
    /// next-hop ids `rib` has for them now. `send` hands a command back
    /// when the channel is full; it is kept for the next call.
    pub fn sync(&mut self, rib: &Rib, send: &mut impl FnMut(BfdCommand) -> Option<BfdCommand>) {
        let mut commands = Vec::new();
        let gone: Vec<SessionKey> = self
            .sent
            .keys()
            .filter(|k| !self.wanted.contains_key(k))
            .copied()
            .collect();
        for key in gone {
            self.sent.remove(&key);
            commands.push(BfdCommand::Remove { key });
        }
        for (key, wanted) in &self.wanted {
            let guards: Vec<NextHopId> = rib
                .nexthop_id(wanted.guards.0, wanted.guards.1)
                .into_iter()
                .collect();
            match self.sent.get_mut(key) {
                None => {
                    commands.push(BfdCommand::Add {
                        key: *key,
                        params: wanted.params.clone(),
                        guards: guards.clone(),
                    });
                    self.sent.insert(
                        *key,
                        Sent {
                            params: wanted.params.clone(),
                            guards,
                        },
                    );
                }
                Some(sent) => {
                    if sent.params != wanted.params {
                        commands.push(BfdCommand::Modify {
                            key: *key,
                            params: wanted.params.clone(),
                        });
                        sent.params = wanted.params.clone();
                    }
                    if sent.guards != guards {
                        commands.push(BfdCommand::SetGuards {
                            key: *key,
                            guards: guards.clone(),
                        });
                        sent.guards = guards;
                    }
                }
            }
        }
        self.backlog.extend(commands);
        while let Some(command) = self.backlog.pop_front() {
            if let Some(refused) = send(command) {
                self.backlog.push_front(refused);
                break;
            }
        }
    }
}

/// The engine's parameters for a profile.
pub fn session_params(profile: &BfdProfile) -> SessionParams {
    SessionParams {
        desired_min_tx_us: profile.transmit_interval.saturating_mul(1000),
        required_min_rx_us: profile.receive_interval.saturating_mul(1000),
        detect_mult: profile.detect_multiplier,
        passive: profile.passive_mode,
        minimum_ttl: profile.minimum_ttl,
        auth: profile.authentication.as_ref().and_then(|a| {
            let key = AuthKey::new(a.key_id, a.key.as_bytes()).ok()?;
            Some(AuthConfig {
                auth_type: match a.kind {
                    BfdAuthType::SimplePassword => AuthType::SimplePassword,
                    BfdAuthType::KeyedMd5 => AuthType::KeyedMd5,
                    BfdAuthType::MeticulousKeyedMd5 => AuthType::MeticulousKeyedMd5,
                    BfdAuthType::KeyedSha1 => AuthType::KeyedSha1,
                    BfdAuthType::MeticulousKeyedSha1 => AuthType::MeticulousKeyedSha1,
                },
                keys: vec![key],
                tx_key_id: a.key_id,
            })
        }),
        hold_down_ns: u64::from(profile.hold_down) * 1_000_000,
        dampening: profile.dampening.then(DampeningConfig::default),
        admin_down: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ValidationEnv, parse_str};

    fn config(extra: &str) -> Config {
        let text = format!(
            r#"
[[port]]
name = "up1"
addresses = ["192.0.2.1/24"]
[[port]]
name = "up2"
addresses = ["198.51.100.1/24"]
{extra}"#
        );
        parse_str(&text, "test.toml", &ValidationEnv { cpu_count: 4 }).unwrap()
    }

    const TWO_BFD_ROUTES: &str = r#"
[[static-route]]
prefix = "0.0.0.0/0"
[[static-route.next-hop]]
via = "192.0.2.2"
bfd = "fast"
[[static-route.next-hop]]
via = "198.51.100.2"
tier = "backup"
bfd = true

[[static-route]]
prefix = "10.9.0.0/16"
[[static-route.next-hop]]
via = "192.0.2.2"
bfd = "fast"

[[bfd-profile]]
name = "fast"
transmit-interval = 10
receive-interval = 10
"#;

    fn run(sessions: &mut BfdSessions, rib: &Rib) -> Vec<BfdCommand> {
        let mut sent = Vec::new();
        sessions.sync(rib, &mut |c| {
            sent.push(c);
            None
        });
        sent
    }

    #[test]
    fn one_session_per_gateway_added_once_then_only_changes() {
        let mut sessions = BfdSessions::default();
        sessions.set_config(&config(TWO_BFD_ROUTES));
        let rib = Rib::default();
        let first = run(&mut sessions, &rib);
        assert_eq!(first.len(), 2, "two gateways, two sessions: {first:?}");
        let fast = first
            .iter()
            .find_map(|c| match c {
                BfdCommand::Add {
                    key,
                    params,
                    guards,
                } if key.peer.to_string() == "192.0.2.2" => Some((key, params, guards)),
                _ => None,
            })
            .expect("a session to gw1");
        assert_eq!(fast.0.port, Some(0));
        assert_eq!(fast.0.local.to_string(), "192.0.2.1");
        assert_eq!(fast.1.desired_min_tx_us, 10_000);
        assert!(fast.2.is_empty(), "no next-hop id yet: nothing to guard");
        assert!(run(&mut sessions, &rib).is_empty(), "nothing changed");

        // Slower timers on one profile: one Modify, no flap.
        sessions.set_config(&config(
            &TWO_BFD_ROUTES.replace("transmit-interval = 10", "transmit-interval = 50"),
        ));
        let modify = run(&mut sessions, &rib);
        assert!(
            matches!(modify.as_slice(), [BfdCommand::Modify { params, .. }] if params.desired_min_tx_us == 50_000),
            "{modify:?}"
        );

        // The backup loses `bfd`: its session goes, gw1's stays as it is.
        sessions.set_config(&config(
            &TWO_BFD_ROUTES
                .replace("transmit-interval = 10", "transmit-interval = 50")
                .replace("tier = \"backup\"\nbfd = true", "tier = \"backup\""),
        ));
        let remove = run(&mut sessions, &rib);
        assert!(
            matches!(remove.as_slice(), [BfdCommand::Remove { key }] if key.peer.to_string() == "198.51.100.2"),
            "{remove:?}"
        );
    }

    #[test]
    fn guards_follow_the_ribs_next_hop_ids_and_a_full_channel_keeps_commands() {
        let mut sessions = BfdSessions::default();
        sessions.set_config(&config(TWO_BFD_ROUTES));
        let mut rib = Rib::default();
        let mut full = Some;
        sessions.sync(&rib, &mut full);
        assert_eq!(sessions.backlog.len(), 2, "both Adds kept");

        rib.add_connected(0, "192.0.2.1/24".parse().unwrap());
        rib.add(controlplane::route::Route {
            prefix: "10.9.0.0/16".parse().unwrap(),
            source: controlplane::route::RouteSource::Static,
            distance: 1,
            metric: 0,
            next_hops: vec![controlplane::route::RouteNextHop {
                gateway: Some("192.0.2.2".parse().unwrap()),
                port: Some(0),
                weight: 1,
                tier: 0,
            }],
        });
        let (mut fib, _) = dataplane::fib::FibWriter::new(dataplane::fib::FibConfig {
            v4_first_stride: 16,
            v6_first_stride: 16,
            max_nexthops: 64,
        });
        rib.commit(&mut fib).unwrap();
        let id = rib
            .nexthop_id(0, Some("192.0.2.2".parse().unwrap()))
            .unwrap();

        let commands = run(&mut sessions, &rib);
        // The two Adds kept from the full channel come first, then the
        // guard change for gw1's session.
        assert_eq!(commands.len(), 3, "{commands:?}");
        assert!(matches!(commands[0], BfdCommand::Add { .. }));
        assert!(matches!(commands[1], BfdCommand::Add { .. }));
        assert!(
            matches!(&commands[2], BfdCommand::SetGuards { key, guards } if key.peer.to_string() == "192.0.2.2" && guards == &vec![id]),
            "{commands:?}"
        );
    }

    #[test]
    fn profile_settings_reach_the_engine() {
        let profile = BfdProfile {
            hold_down: 250,
            dampening: true,
            passive_mode: true,
            authentication: Some(crate::config::BfdAuthentication {
                kind: BfdAuthType::MeticulousKeyedSha1,
                key_id: 3,
                key: "k".into(),
            }),
            ..BfdProfile::named("p")
        };
        let params = session_params(&profile);
        assert_eq!(params.hold_down_ns, 250_000_000);
        assert!(params.dampening.is_some() && params.passive);
        assert!(params.validate().is_ok());
        let auth = params.auth.unwrap();
        assert_eq!(auth.auth_type, AuthType::MeticulousKeyedSha1);
        assert_eq!(auth.tx_key_id, 3);
    }
}
