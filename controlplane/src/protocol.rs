//! The sans-IO contract every routing protocol implements.
//!
//! A protocol is a state machine: inputs and `now` go in, [`Action`]s come
//! out. It owns no socket, reads no clock and arms no OS timer, so the same
//! code runs under the event loop, in a unit test with a fake clock, and in
//! a replay of a recorded session. The lifecycle hooks follow BIRD's
//! protocol hooks (`start`, `reconfigure`, `shutdown`); per-event handling
//! follows holo's split of inputs by origin (network, timers, southbound).

use std::net::IpAddr;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::clock::Nanos;
use crate::route::RibUpdate;

/// A dataplane port, as numbered by the dataplane.
pub type PortId = u16;

/// A protocol-chosen name for one of its timers. Arming a token that is
/// already armed moves it; a protocol never sees the wheel's ids.
pub type TimerToken = u64;

/// Something that happened, delivered to a protocol by [`Protocol::handle`].
///
/// Configuration changes arrive through [`Protocol::reconfigure`] instead,
/// so the protocol can compare old and new settings in one place.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Input<E> {
    /// A control packet punted from `port` (OSPF, VRRP, …), from the IP header on.
    Packet {
        port: PortId,
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
    /// A timer the protocol armed with [`Action::ArmTimer`] is due.
    Timer(TimerToken),
    /// Link state of a port changed.
    Interface { port: PortId, up: bool },
    /// A BFD session guarding `peer` changed state (RFC 5882 §3: clients act
    /// on Down as if the peer had failed).
    Bfd { peer: IpAddr, up: bool },
    /// Something specific to this protocol, e.g. a TCP session event for BGP.
    Protocol(E),
}

/// What a protocol asks the world to do.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action<N> {
    /// Transmit a packet (IP header on) out of `port`.
    Send {
        port: PortId,
        #[serde(with = "hex_bytes")]
        bytes: Vec<u8>,
    },
    /// Deliver `Input::Timer(token)` at or after `at`, replacing any pending
    /// timer with the same token.
    ArmTimer { token: TimerToken, at: Nanos },
    /// Forget a pending timer; a no-op if it is not armed.
    CancelTimer { token: TimerToken },
    /// Add or withdraw a route in the RIB.
    Rib(RibUpdate),
    /// A state change others may want to hear about (neighbor up, VRRP
    /// master, …); where it goes is the caller's business.
    Notify(N),
}

/// The action buffer a protocol writes into. The driver drains it after
/// every call, so a protocol only ever appends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actions<N> {
    queued: Vec<Action<N>>,
}

impl<N> Default for Actions<N> {
    fn default() -> Self {
        Actions { queued: Vec::new() }
    }
}

impl<N> Actions<N> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, action: Action<N>) {
        self.queued.push(action);
    }

    pub fn send(&mut self, port: PortId, bytes: Vec<u8>) {
        self.push(Action::Send { port, bytes });
    }

    pub fn arm_timer(&mut self, token: TimerToken, at: Nanos) {
        self.push(Action::ArmTimer { token, at });
    }

    pub fn cancel_timer(&mut self, token: TimerToken) {
        self.push(Action::CancelTimer { token });
    }

    pub fn rib(&mut self, update: RibUpdate) {
        self.push(Action::Rib(update));
    }

    pub fn notify(&mut self, notification: N) {
        self.push(Action::Notify(notification));
    }

    pub fn as_slice(&self) -> &[Action<N>] {
        &self.queued
    }

    pub fn is_empty(&self) -> bool {
        self.queued.is_empty()
    }

    pub fn len(&self) -> usize {
        self.queued.len()
    }

    /// Takes the queued actions in the order they were pushed, keeping the
    /// buffer's capacity for the next call.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Action<N>> {
        self.queued.drain(..)
    }
}

/// A routing protocol instance as a sans-IO state machine.
///
/// `now` is monotonic nanoseconds from the driver's clock; the same inputs
/// at the same `now`s must produce the same actions (that is what makes
/// record/replay and fake-clock tests work), so a protocol needing
/// randomness (e.g. jitter) must seed it from its config.
pub trait Protocol {
    type Config: Clone + Serialize + DeserializeOwned;
    type Event: Clone + Serialize + DeserializeOwned;
    type Notification: Clone + Serialize + DeserializeOwned;

    /// Instance name, unique among running protocols ("ospf", "bgp-upstream").
    fn name(&self) -> &str;

    /// Begin operating: arm the first timers, send the first hellos.
    fn start(&mut self, now: Nanos, out: &mut Actions<Self::Notification>);

    fn handle(
        &mut self,
        now: Nanos,
        input: Input<Self::Event>,
        out: &mut Actions<Self::Notification>,
    );

    /// Apply new settings. As in BIRD, only what changed restarts: a
    /// changed hello interval must not drop adjacencies on an unrelated port.
    fn reconfigure(
        &mut self,
        now: Nanos,
        config: &Self::Config,
        out: &mut Actions<Self::Notification>,
    );

    /// Stop operating: say goodbye to peers, withdraw own routes. Timers
    /// still armed are dropped by the driver afterwards.
    fn shutdown(&mut self, now: Nanos, out: &mut Actions<Self::Notification>);
}

/// Every way a driver can call into a protocol, as one value: what the
/// recorder writes and the replayer reads back.
///
/// Inputs serialise untagged so a recorded line reads
/// `"input":{"packet":{…}}` rather than `"input":{"input":{"packet":…}}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stimulus<E, C> {
    Start,
    Reconfigure(C),
    Shutdown,
    #[serde(untagged)]
    Input(Input<E>),
}

/// Calls the hook that `stimulus` stands for.
pub fn deliver<P: Protocol + ?Sized>(
    protocol: &mut P,
    now: Nanos,
    stimulus: Stimulus<P::Event, P::Config>,
    out: &mut Actions<P::Notification>,
) {
    match stimulus {
        Stimulus::Start => protocol.start(now, out),
        Stimulus::Reconfigure(config) => protocol.reconfigure(now, &config, out),
        Stimulus::Shutdown => protocol.shutdown(now, out),
        Stimulus::Input(input) => protocol.handle(now, input, out),
    }
}

/// Packet bytes as a lowercase hex string: a recorded OSPF hello or BGP
/// message stays one readable token instead of a JSON array of numbers.
/// Protocols' own events carrying bytes use it too
/// (`#[serde(with = "crate::protocol::hex_bytes")]`).
pub(crate) mod hex_bytes {
    use serde::de::Error;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut text = String::with_capacity(bytes.len() * 2);
        for &byte in bytes {
            text.push(char::from(DIGITS[usize::from(byte >> 4)]));
            text.push(char::from(DIGITS[usize::from(byte & 0xf)]));
        }
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        if !text.len().is_multiple_of(2) {
            return Err(D::Error::custom("hex bytes: odd number of digits"));
        }
        text.as_bytes()
            .chunks_exact(2)
            .map(|pair| match (nibble(pair[0]), nibble(pair[1])) {
                (Some(high), Some(low)) => Ok(high << 4 | low),
                _ => Err(D::Error::custom("hex bytes: not a hex digit")),
            })
            .collect()
    }

    fn nibble(digit: u8) -> Option<u8> {
        match digit {
            b'0'..=b'9' => Some(digit - b'0'),
            b'a'..=b'f' => Some(digit - b'a' + 10),
            b'A'..=b'F' => Some(digit - b'A' + 10),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestStimulus = Stimulus<String, u32>;

    #[test]
    fn stimuli_round_trip_through_json_in_readable_form() {
        let cases: Vec<(TestStimulus, &str)> = vec![
            (Stimulus::Start, r#""start""#),
            (Stimulus::Reconfigure(7), r#"{"reconfigure":7}"#),
            (
                Stimulus::Input(Input::Packet {
                    port: 2,
                    bytes: vec![0x45, 0x00, 0xff],
                }),
                r#"{"packet":{"port":2,"bytes":"4500ff"}}"#,
            ),
            (Stimulus::Input(Input::Timer(9)), r#"{"timer":9}"#),
            (
                Stimulus::Input(Input::Bfd {
                    peer: "192.0.2.1".parse().unwrap(),
                    up: false,
                }),
                r#"{"bfd":{"peer":"192.0.2.1","up":false}}"#,
            ),
            (
                Stimulus::Input(Input::Protocol("tcp-up".into())),
                r#"{"protocol":"tcp-up"}"#,
            ),
        ];
        for (stimulus, json) in cases {
            assert_eq!(serde_json::to_string(&stimulus).unwrap(), json);
            assert_eq!(
                serde_json::from_str::<TestStimulus>(json).unwrap(),
                stimulus
            );
        }
    }

    #[test]
    fn malformed_hex_is_an_error_not_a_panic() {
        for json in [
            r#"{"packet":{"port":1,"bytes":"abc"}}"#,
            r#"{"packet":{"port":1,"bytes":"zz"}}"#,
        ] {
            assert!(
                serde_json::from_str::<TestStimulus>(json).is_err(),
                "{json} accepted"
            );
        }
        let upper: TestStimulus =
            serde_json::from_str(r#"{"packet":{"port":1,"bytes":"AbFF"}}"#).unwrap();
        assert_eq!(
            upper,
            Stimulus::Input(Input::Packet {
                port: 1,
                bytes: vec![0xab, 0xff]
            })
        );
    }
}
