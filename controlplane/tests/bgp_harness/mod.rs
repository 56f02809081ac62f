//! A fake-clock driver for the BGP protocol and a scripted remote speaker.
//!
//! The driver keeps the timers the protocol arms and fires them in deadline
//! order as the test moves time; the remote side is plain messages built
//! with the wire layer, so a test reads like a packet capture.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use controlplane::bgp::fsm::State;
use controlplane::bgp::packet::{
    Afi, Capability, DecodeContext, GracefulRestart, GracefulRestartFamily, Message, Notification,
    Open, Safi, Update, frame,
};
use controlplane::bgp::timer::{Timer, TimerKind};
use controlplane::bgp::{Bgp, BgpConfig, BgpEvent, BgpNotification, ConnId, NeighborConfig};
use controlplane::clock::Nanos;
use controlplane::protocol::{Action, Actions, Input, Protocol, Stimulus, TimerToken};
use controlplane::recorder::Recorder;
use controlplane::route::RibUpdate;

pub const SECOND: Nanos = 1_000_000_000;
pub const LOCAL_AS: u32 = 65000;
pub const PEER_AS: u32 = 65001;

pub type Acts = Vec<Action<BgpNotification>>;

pub fn local_id() -> Ipv4Addr {
    Ipv4Addr::new(10, 0, 0, 1)
}

pub fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

pub fn sock(text: &str) -> SocketAddr {
    text.parse().unwrap()
}

/// The default neighbor of most tests: eBGP, 192.0.2.2, AS 65001.
pub fn peer() -> IpAddr {
    ip("192.0.2.2")
}

pub fn config(neighbors: Vec<NeighborConfig>) -> BgpConfig {
    BgpConfig {
        seed: 7,
        neighbors,
        ..BgpConfig::new(LOCAL_AS, local_id())
    }
}

pub fn neighbor() -> NeighborConfig {
    NeighborConfig::new(peer(), PEER_AS)
}

/// A protocol instance, its timers and a clock that moves when told.
pub struct Harness {
    pub bgp: Bgp,
    out: Actions<BgpNotification>,
    pub now: Nanos,
    pub timers: BTreeMap<TimerToken, Nanos>,
    /// Every action ever taken, in order.
    pub history: Acts,
    /// Every stimulus, as the event loop would record it.
    pub recorder: Recorder<Vec<u8>>,
}

impl Harness {
    pub fn new(config: BgpConfig) -> Harness {
        Harness::named("bgp", config)
    }

    pub fn named(name: &str, config: BgpConfig) -> Harness {
        config.validate().expect("test config is valid");
        Harness {
            bgp: Bgp::new(name, config),
            out: Actions::new(),
            now: 0,
            timers: BTreeMap::new(),
            history: Vec::new(),
            recorder: Recorder::new(Vec::new()),
        }
    }

    /// Started, with the default neighbor.
    pub fn started(config: BgpConfig) -> (Harness, Acts) {
        let mut h = Harness::new(config);
        let actions = h.start();
        (h, actions)
    }

    fn deliver(&mut self, stimulus: Stimulus<BgpEvent, BgpConfig>) -> Acts {
        let name = self.bgp.name().to_string();
        self.recorder.record(self.now, &name, &stimulus).unwrap();
        controlplane::protocol::deliver(&mut self.bgp, self.now, stimulus, &mut self.out);
        self.collect()
    }

    fn collect(&mut self) -> Acts {
        let actions: Acts = self.out.drain().collect();
        for action in &actions {
            match action {
                Action::ArmTimer { token, at } => {
                    self.timers.insert(*token, *at);
                }
                Action::CancelTimer { token } => {
                    self.timers.remove(token);
                }
                _ => {}
            }
        }
        self.history.extend(actions.iter().cloned());
        actions
    }

    pub fn start(&mut self) -> Acts {
        self.deliver(Stimulus::Start)
    }

    pub fn shutdown(&mut self) -> Acts {
        let actions = self.deliver(Stimulus::Shutdown);
        self.timers.clear();
        actions
    }

    pub fn reconfigure(&mut self, config: BgpConfig) -> Acts {
        self.deliver(Stimulus::Reconfigure(config))
    }

    pub fn input(&mut self, input: Input<BgpEvent>) -> Acts {
        self.deliver(Stimulus::Input(input))
    }

    pub fn event(&mut self, event: BgpEvent) -> Acts {
        self.input(Input::Protocol(event))
    }

    pub fn bytes(&mut self, conn: ConnId, data: Vec<u8>) -> Acts {
        self.event(BgpEvent::Bytes { conn, data })
    }

    pub fn message(&mut self, conn: ConnId, message: &Message, ctx: &DecodeContext) -> Acts {
        self.bytes(conn, message.to_bytes(ctx).unwrap())
    }

    /// The earliest armed timer.
    pub fn next_timer(&self) -> Option<(Nanos, TimerToken)> {
        self.timers.iter().map(|(token, at)| (*at, *token)).min()
    }

    /// Moves time to `to`, firing every timer due on the way at its own
    /// deadline.
    pub fn advance_to(&mut self, to: Nanos) -> Acts {
        let mut actions = Vec::new();
        while let Some((at, token)) = self.next_timer().filter(|(at, _)| *at <= to) {
            self.timers.remove(&token);
            self.now = self.now.max(at);
            actions.extend(self.input(Input::Timer(token)));
        }
        self.now = self.now.max(to);
        actions
    }

    pub fn advance(&mut self, by: Nanos) -> Acts {
        self.advance_to(self.now + by)
    }

    /// When the timer of `kind` for peer index `index` is due, if armed.
    pub fn timer(&self, index: u32, kind: TimerKind) -> Option<Nanos> {
        self.timers.iter().find_map(|(token, at)| {
            let timer = Timer::from_token(*token)?;
            (timer.peer == index && timer.kind == kind).then_some(*at)
        })
    }

    pub fn state(&self, address: IpAddr) -> State {
        self.bgp.peer(address).unwrap().state()
    }

    /// The outgoing connection the peer is waiting on (the last Connect
    /// not closed since).
    pub fn dialing(&self, address: IpAddr) -> Option<ConnId> {
        let mut dialing = None;
        for action in &self.history {
            match action {
                Action::Notify(BgpNotification::Connect { peer, conn, .. }) if *peer == address => {
                    dialing = Some(*conn)
                }
                Action::Notify(BgpNotification::Close { conn, .. }) if Some(*conn) == dialing => {
                    dialing = None
                }
                _ => {}
            }
        }
        dialing
    }

    /// Answers the pending Connect for `address`.
    pub fn connected(&mut self, address: IpAddr) -> (ConnId, Acts) {
        let conn = self.dialing(address).expect("a connection attempt");
        let local = SocketAddr::new(local_addr_for(address), 50179);
        let remote = SocketAddr::new(address, 179);
        let actions = self.event(BgpEvent::Connected {
            conn,
            local,
            remote,
        });
        (conn, actions)
    }

    /// Takes the default neighbor from start to Established with `open` as
    /// its OPEN; returns the connection and everything done on the way.
    pub fn establish(&mut self, address: IpAddr, open: &Open) -> (ConnId, Acts) {
        let (conn, mut actions) = self.connected(address);
        actions.extend(self.message(
            conn,
            &Message::Open(open.clone()),
            &DecodeContext::default(),
        ));
        actions.extend(self.message(conn, &Message::Keepalive, &DecodeContext::default()));
        assert_eq!(self.state(address), State::Established, "{actions:#?}");
        (conn, actions)
    }
}

/// Our address on the link to `peer` in the tests: .1 of the peer's /24.
pub fn local_addr_for(peer: IpAddr) -> IpAddr {
    match peer {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            IpAddr::V4(Ipv4Addr::new(a, b, c, 1))
        }
        IpAddr::V6(v6) => {
            let mut segments = v6.segments();
            segments[7] = 1;
            IpAddr::V6(segments.into())
        }
    }
}

/// An OPEN as FRR would send it: both unicast families, route refresh
/// (plain and enhanced), extended messages, four-octet AS and graceful
/// restart preserving forwarding for both families.
pub fn peer_open(asn: u32, hold_time: u16, id: [u8; 4]) -> Open {
    let capabilities = vec![
        Capability::Multiprotocol {
            afi: Afi::Ipv4,
            safi: Safi::Unicast,
        },
        Capability::Multiprotocol {
            afi: Afi::Ipv6,
            safi: Safi::Unicast,
        },
        Capability::RouteRefresh,
        Capability::EnhancedRouteRefresh,
        Capability::ExtendedMessage,
        Capability::FourOctetAs { asn },
        Capability::GracefulRestart(GracefulRestart {
            restart_state: false,
            notification: false,
            restart_time: 120,
            families: vec![
                GracefulRestartFamily {
                    afi: Afi::Ipv4,
                    safi: Safi::Unicast,
                    forwarding_preserved: true,
                },
                GracefulRestartFamily {
                    afi: Afi::Ipv6,
                    safi: Safi::Unicast,
                    forwarding_preserved: true,
                },
            ],
        }),
        Capability::Unknown {
            code: 73,
            value: b"\x02gw\x00".to_vec(),
        },
    ];
    Open::new(asn, hold_time, id.into(), capabilities)
}

/// The OPEN of the default neighbor.
pub fn default_open() -> Open {
    peer_open(PEER_AS, 90, [192, 0, 2, 2])
}

/// The context an FRR-like session with us ends up with.
pub fn session_ctx() -> DecodeContext {
    DecodeContext {
        four_octet_as: true,
        extended_messages: true,
        ibgp: false,
    }
}

// ---- Reading actions ----

pub fn connects(actions: &[Action<BgpNotification>]) -> Vec<(IpAddr, ConnId)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(BgpNotification::Connect { peer, conn, .. }) => Some((*peer, *conn)),
            _ => None,
        })
        .collect()
}

pub fn closes(actions: &[Action<BgpNotification>]) -> Vec<ConnId> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(BgpNotification::Close { conn, .. }) => Some(*conn),
            _ => None,
        })
        .collect()
}

/// Raw bytes sent, per connection, in order.
pub fn sent_bytes(actions: &[Action<BgpNotification>]) -> Vec<(ConnId, Vec<u8>)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(BgpNotification::Send { conn, bytes, .. }) => {
                Some((*conn, bytes.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Each message sent, cut and decoded as the remote would with `ctx`.
pub fn sent_with(
    actions: &[Action<BgpNotification>],
    ctx: &DecodeContext,
) -> Vec<(ConnId, Message)> {
    let mut out = Vec::new();
    for (conn, bytes) in sent_bytes(actions) {
        let mut rest = bytes.as_slice();
        while !rest.is_empty() {
            let len = frame(rest, 65535).unwrap().expect("whole messages");
            let message = Message::decode(&rest[..len], ctx)
                .unwrap_or_else(|e| panic!("we sent an undecodable message: {e}"))
                .into_message();
            out.push((conn, message));
            rest = &rest[len..];
        }
    }
    out
}

pub fn sent(actions: &[Action<BgpNotification>]) -> Vec<(ConnId, Message)> {
    sent_with(actions, &session_ctx())
}

/// The raw bytes of every NOTIFICATION sent (the whole message).
pub fn notification_bytes(actions: &[Action<BgpNotification>]) -> Vec<Vec<u8>> {
    sent_bytes(actions)
        .into_iter()
        .filter(|(_, bytes)| bytes.get(18) == Some(&3))
        .map(|(_, bytes)| bytes)
        .collect()
}

pub fn notifications(actions: &[Action<BgpNotification>]) -> Vec<Notification> {
    sent(actions)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Message::Notification(n) => Some(n),
            _ => None,
        })
        .collect()
}

pub fn keepalives(actions: &[Action<BgpNotification>]) -> usize {
    sent(actions)
        .iter()
        .filter(|(_, m)| matches!(m, Message::Keepalive))
        .count()
}

pub fn updates(actions: &[Action<BgpNotification>]) -> Vec<Update> {
    sent(actions)
        .into_iter()
        .filter_map(|(_, m)| match m {
            Message::Update(u) => Some(u),
            _ => None,
        })
        .collect()
}

pub fn transitions(actions: &[Action<BgpNotification>]) -> Vec<(State, State)> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(BgpNotification::SessionState { from, to, .. }) => Some((*from, *to)),
            _ => None,
        })
        .collect()
}

pub fn rib(actions: &[Action<BgpNotification>]) -> Vec<RibUpdate> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Rib(update) => Some(update.clone()),
            _ => None,
        })
        .collect()
}

pub fn notified(actions: &[Action<BgpNotification>]) -> Vec<BgpNotification> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Notify(n) => Some(n.clone()),
            _ => None,
        })
        .collect()
}

/// Hex without separators, for comparing NOTIFICATION bytes with the RFC.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The 16 marker octets, in hex.
pub const MARKER: &str = "ffffffffffffffffffffffffffffffff";
