//! Shared by the `bfd_*` tests: a fake clock, one engine under test with a
//! hand-driven peer, and a back-to-back wiring of two engines.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr};

use dataplane::bfd::auth::seal;
use dataplane::bfd::{
    AuthSection, BfdCommand, BfdEngine, BfdEvent, BfdPacket, BfdRepr, BfdTx, Diagnostic, Nanos,
    RxVerdict, SessionKey, SessionParams, SessionStatus, State,
};
use dataplane::fib::{Liveness, NextHopId};

pub const MS: Nanos = 1_000_000;
pub const SEC: Nanos = 1_000_000_000;
pub const PORT: u16 = 1;
pub const LOCAL: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));
pub const PEER: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
/// The discriminator our hand-driven peer uses.
pub const PEER_DISC: u32 = 0xfeed_0001;

pub fn key() -> SessionKey {
    SessionKey::single_hop(PORT, LOCAL, PEER)
}

pub fn params(tx_us: u32, rx_us: u32, mult: u8) -> SessionParams {
    SessionParams {
        desired_min_tx_us: tx_us,
        required_min_rx_us: rx_us,
        detect_mult: mult,
        ..SessionParams::default()
    }
}

/// A packet from the hand-driven peer, with 1 s timers (what a peer not
/// yet Up advertises) unless changed.
pub fn peer_packet(state: State, your_disc: u32) -> BfdRepr {
    BfdRepr {
        diag: Diagnostic::NoDiagnostic,
        state,
        poll: false,
        final_: false,
        control_plane_independent: false,
        demand: false,
        detect_mult: 3,
        my_discriminator: PEER_DISC,
        your_discriminator: your_disc,
        desired_min_tx_us: 1_000_000,
        required_min_rx_us: 1_000_000,
        required_min_echo_rx_us: 0,
        auth: None,
    }
}

/// Emits and seals `repr` as a sender would.
pub fn encode(repr: &BfdRepr) -> Vec<u8> {
    let mut bytes = vec![0u8; repr.buffer_len()];
    repr.emit(&mut BfdPacket::new_unchecked(&mut bytes[..]));
    seal(&mut bytes);
    bytes
}

pub fn decode(tx: &BfdTx) -> BfdRepr {
    BfdRepr::parse(&BfdPacket::new_checked(tx.packet()).expect("engine emits valid lengths"))
        .expect("engine emits valid packets")
}

/// One engine with one session to a peer the test plays by hand.
pub struct Harness {
    pub engine: BfdEngine,
    pub liveness: Liveness,
    pub now: Nanos,
    pub sent: Vec<(Nanos, BfdTx)>,
    pub events: Vec<BfdEvent>,
    pub key: SessionKey,
}

pub const GUARD: NextHopId = NextHopId(7);

impl Harness {
    pub fn new(params: SessionParams) -> Self {
        Self::with_key(key(), params, vec![GUARD])
    }

    pub fn with_key(key: SessionKey, params: SessionParams, guards: Vec<NextHopId>) -> Self {
        let mut harness = Harness {
            engine: BfdEngine::new(42, 16),
            liveness: Liveness::new(64),
            now: SEC,
            sent: Vec::new(),
            events: Vec::new(),
            key,
        };
        harness
            .engine
            .apply(
                BfdCommand::Add {
                    key,
                    params,
                    guards,
                },
                harness.now,
                &harness.liveness,
            )
            .expect("valid session");
        harness
    }

    pub fn status(&self) -> SessionStatus {
        self.engine.session(&self.key).expect("session exists")
    }

    pub fn state(&self) -> State {
        self.status().state
    }

    pub fn my_disc(&self) -> u32 {
        self.status().local_discriminator
    }

    pub fn live(&self) -> bool {
        self.liveness.is_live(GUARD)
    }

    /// Polls at `at` (the clock only moves forward).
    pub fn poll_at(&mut self, at: Nanos) {
        self.now = self.now.max(at);
        let now = self.now;
        let sent = &mut self.sent;
        self.engine
            .poll(now, &self.liveness, &mut |tx| sent.push((now, *tx)));
        let events = &mut self.events;
        self.engine.drain_events(&mut |e| events.push(e));
    }

    /// Collects events queued outside `poll`/`deliver` (by `apply`).
    pub fn drain(&mut self) {
        let events = &mut self.events;
        self.engine.drain_events(&mut |e| events.push(e));
    }

    pub fn poll(&mut self) {
        self.poll_at(self.now);
    }

    /// Runs the engine's own schedule up to `until`, polling at each
    /// deadline.
    pub fn run_until(&mut self, until: Nanos) {
        while let Some(at) = self.engine.next_deadline() {
            if at > until {
                break;
            }
            self.poll_at(at);
        }
        self.poll_at(until);
    }

    pub fn deliver_bytes(&mut self, bytes: &[u8], ttl: u8) -> RxVerdict {
        let verdict = self.engine.receive(
            self.now,
            PORT,
            PEER,
            LOCAL,
            ttl,
            50_000,
            self.key.udp_dst_port(),
            bytes,
            &self.liveness,
        );
        let events = &mut self.events;
        self.engine.drain_events(&mut |e| events.push(e));
        verdict
    }

    pub fn deliver(&mut self, repr: &BfdRepr) -> RxVerdict {
        self.deliver_bytes(&encode(repr), 255)
    }

    pub fn last_sent(&self) -> Option<BfdRepr> {
        self.sent.last().map(|(_, tx)| decode(tx))
    }

    /// Drives the handshake Down → Init → Up with the peer advertising
    /// `peer_tx_us`/`peer_rx_us`; the session ends Up.
    pub fn bring_up(&mut self, peer_tx_us: u32, peer_rx_us: u32) {
        let mut down = peer_packet(State::Down, 0);
        down.desired_min_tx_us = peer_tx_us;
        down.required_min_rx_us = peer_rx_us;
        assert_eq!(self.deliver(&down), RxVerdict::Accepted);
        let mut up = peer_packet(State::Up, self.my_disc());
        up.desired_min_tx_us = peer_tx_us;
        up.required_min_rx_us = peer_rx_us;
        assert_eq!(self.deliver(&up), RxVerdict::Accepted);
        assert_eq!(self.state(), State::Up);
    }

    /// A packet from the peer in `state` echoing our discriminator, with
    /// the given timers.
    pub fn peer(&self, state: State, tx_us: u32, rx_us: u32) -> BfdRepr {
        let mut repr = peer_packet(state, self.my_disc());
        repr.desired_min_tx_us = tx_us;
        repr.required_min_rx_us = rx_us;
        repr
    }

    /// Answers our outstanding Poll with a Final.
    pub fn peer_final(&self, tx_us: u32, rx_us: u32) -> BfdRepr {
        let mut repr = self.peer(State::Up, tx_us, rx_us);
        repr.final_ = true;
        repr
    }
}

pub fn with_auth(mut repr: BfdRepr, auth: AuthSection) -> BfdRepr {
    repr.auth = Some(auth);
    repr
}

/// Two engines wired back to back through a fixed-latency link whose two
/// directions can be cut; the fake clock jumps from deadline to deadline.
pub struct BackToBack {
    pub a: BfdEngine,
    pub b: BfdEngine,
    pub live_a: Liveness,
    pub live_b: Liveness,
    pub key_a: SessionKey,
    pub key_b: SessionKey,
    pub now: Nanos,
    pub latency: Nanos,
    /// In flight: (arrival, to_b, packet bytes and length).
    pub in_flight: Vec<(Nanos, bool, [u8; dataplane::bfd::MAX_BFD_PACKET], usize)>,
    pub a_to_b_cut: bool,
    pub b_to_a_cut: bool,
    pub events_a: Vec<BfdEvent>,
    pub events_b: Vec<BfdEvent>,
    /// Last time each side accepted a packet.
    pub last_rx_a: Nanos,
    pub last_rx_b: Nanos,
}

pub const A: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
pub const B: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2));

impl BackToBack {
    pub fn new(params_a: SessionParams, params_b: SessionParams) -> Self {
        let key_a = SessionKey::single_hop(PORT, A, B);
        let key_b = SessionKey::single_hop(PORT, B, A);
        let mut link = BackToBack {
            a: BfdEngine::new(1, 8),
            b: BfdEngine::new(2, 8),
            live_a: Liveness::new(64),
            live_b: Liveness::new(64),
            key_a,
            key_b,
            now: SEC,
            latency: 50_000,
            in_flight: Vec::with_capacity(64),
            a_to_b_cut: false,
            b_to_a_cut: false,
            events_a: Vec::with_capacity(64),
            events_b: Vec::with_capacity(64),
            last_rx_a: 0,
            last_rx_b: 0,
        };
        let now = link.now;
        link.a
            .apply(
                BfdCommand::Add {
                    key: key_a,
                    params: params_a,
                    guards: vec![GUARD],
                },
                now,
                &link.live_a,
            )
            .unwrap();
        link.b
            .apply(
                BfdCommand::Add {
                    key: key_b,
                    params: params_b,
                    guards: vec![GUARD],
                },
                now,
                &link.live_b,
            )
            .unwrap();
        link
    }

    pub fn state_a(&self) -> State {
        self.a.session(&self.key_a).unwrap().state
    }

    pub fn state_b(&self) -> State {
        self.b.session(&self.key_b).unwrap().state
    }

    /// The next time anything happens.
    fn next_event(&self) -> Nanos {
        let mut next = Nanos::MAX;
        for deadline in [self.a.next_deadline(), self.b.next_deadline()]
            .into_iter()
            .flatten()
        {
            next = next.min(deadline);
        }
        for (at, ..) in &self.in_flight {
            next = next.min(*at);
        }
        next
    }

    /// One step: deliver what has arrived, then poll both engines.
    pub fn step(&mut self) {
        let next = self.next_event().max(self.now);
        self.now = next;
        if next == Nanos::MAX {
            return;
        }
        let now = self.now;
        let mut i = 0;
        while i < self.in_flight.len() {
            if self.in_flight[i].0 <= now {
                let (_, to_b, payload, len) = self.in_flight.swap_remove(i);
                let bytes = &payload[..len];
                let verdict = if to_b {
                    self.b
                        .receive(now, PORT, A, B, 255, 49152, 3784, bytes, &self.live_b)
                } else {
                    self.a
                        .receive(now, PORT, B, A, 255, 49152, 3784, bytes, &self.live_a)
                };
                if verdict == RxVerdict::Accepted {
                    if to_b {
                        self.last_rx_b = now;
                    } else {
                        self.last_rx_a = now;
                    }
                }
            } else {
                i += 1;
            }
        }
        let latency = self.latency;
        let (in_flight, a_cut, b_cut) = (&mut self.in_flight, self.a_to_b_cut, self.b_to_a_cut);
        self.a.poll(now, &self.live_a, &mut |tx| {
            if !a_cut {
                in_flight.push((now + latency, true, tx.payload, tx.len));
            }
        });
        self.b.poll(now, &self.live_b, &mut |tx| {
            if !b_cut {
                in_flight.push((now + latency, false, tx.payload, tx.len));
            }
        });
        let (ea, eb) = (&mut self.events_a, &mut self.events_b);
        self.a.drain_events(&mut |e| ea.push(e));
        self.b.drain_events(&mut |e| eb.push(e));
    }

    /// Steps until `done` holds or the clock passes `until`; returns
    /// whether `done` held.
    pub fn run_until(&mut self, until: Nanos, mut done: impl FnMut(&Self) -> bool) -> bool {
        while self.now <= until {
            if done(self) {
                return true;
            }
            self.step();
        }
        done(self)
    }
}
