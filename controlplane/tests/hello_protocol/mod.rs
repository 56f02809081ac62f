//! A toy neighbor protocol for exercising the event loop and record/replay:
//! OSPF-like hellos every `hello_ns`, a neighbor declared up on its first
//! hello and down after `dead_ns` of silence (RFC 2328 §10.2's
//! Inactivity Timer, in miniature), on BFD Down (RFC 5882 §3.2) or when the
//! port goes down. While up it contributes one route via the neighbor.
//!
//! Wire format: `b"HELO"` followed by the sender's 4-byte IPv4 router id.

use std::net::{IpAddr, Ipv4Addr};

use controlplane::clock::Nanos;
use controlplane::protocol::{Actions, Input, PortId, Protocol};
use controlplane::route::{RibUpdate, Route, RouteNextHop, RouteSource};
use serde::{Deserialize, Serialize};

pub const HELLO_TIMER: u64 = 1;
pub const DEAD_TIMER: u64 = 2;
pub const SECOND: Nanos = 1_000_000_000;
const MAGIC: &[u8; 4] = b"HELO";
const GOODBYE: &[u8; 4] = b"BYE!";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelloConfig {
    pub router_id: Ipv4Addr,
    pub port: PortId,
    pub hello_ns: Nanos,
    pub dead_ns: Nanos,
}

impl HelloConfig {
    pub fn new(router_id: [u8; 4], port: PortId) -> Self {
        HelloConfig {
            router_id: Ipv4Addr::from(router_id),
            port,
            hello_ns: 10 * SECOND,
            dead_ns: 40 * SECOND,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HelloEvent {
    /// An operator clearing the adjacency by hand.
    ClearNeighbor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HelloNotification {
    NeighborUp(Ipv4Addr),
    NeighborDown { neighbor: Ipv4Addr, reason: String },
}

pub struct HelloProtocol {
    name: String,
    config: HelloConfig,
    neighbor: Option<Ipv4Addr>,
}

pub fn hello_packet(router_id: [u8; 4]) -> Vec<u8> {
    let mut packet = MAGIC.to_vec();
    packet.extend_from_slice(&router_id);
    packet
}

impl HelloProtocol {
    pub fn new(name: &str, config: HelloConfig) -> Self {
        HelloProtocol {
            name: name.to_owned(),
            config,
            neighbor: None,
        }
    }

    fn route_prefix(neighbor: Ipv4Addr) -> ipnet::IpNet {
        ipnet::IpNet::new(IpAddr::V4(neighbor), 32).expect("/32 is a valid prefix length")
    }

    fn send_hello(&self, now: Nanos, out: &mut Actions<HelloNotification>) {
        out.send(
            self.config.port,
            hello_packet(self.config.router_id.octets()),
        );
        out.arm_timer(HELLO_TIMER, now + self.config.hello_ns);
    }

    fn neighbor_down(&mut self, reason: &str, out: &mut Actions<HelloNotification>) {
        if let Some(neighbor) = self.neighbor.take() {
            out.cancel_timer(DEAD_TIMER);
            out.rib(RibUpdate::Withdraw {
                prefix: Self::route_prefix(neighbor),
                source: RouteSource::Ospf,
            });
            out.notify(HelloNotification::NeighborDown {
                neighbor,
                reason: reason.to_owned(),
            });
        }
    }

    fn received(
        &mut self,
        now: Nanos,
        port: PortId,
        bytes: &[u8],
        out: &mut Actions<HelloNotification>,
    ) {
        // Arbitrary bytes from the wire: check length and magic, never index blindly.
        let Some((magic, id)) = bytes.split_first_chunk::<4>() else {
            return;
        };
        let Ok(id) = <[u8; 4]>::try_from(id) else {
            return;
        };
        if port != self.config.port || magic != MAGIC {
            return;
        }
        let neighbor = Ipv4Addr::from(id);
        if self.neighbor.is_none() {
            self.neighbor = Some(neighbor);
            out.notify(HelloNotification::NeighborUp(neighbor));
            out.rib(RibUpdate::Add(Route {
                prefix: Self::route_prefix(neighbor),
                source: RouteSource::Ospf,
                distance: RouteSource::Ospf.default_distance(),
                metric: 10,
                next_hops: vec![RouteNextHop {
                    gateway: Some(IpAddr::V4(neighbor)),
                    port: Some(port),
                    weight: 1,
                    tier: 0,
                }],
            }));
        }
        out.arm_timer(DEAD_TIMER, now + self.config.dead_ns);
    }
}

impl Protocol for HelloProtocol {
    type Config = HelloConfig;
    type Event = HelloEvent;
    type Notification = HelloNotification;

    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self, now: Nanos, out: &mut Actions<HelloNotification>) {
        self.send_hello(now, out);
    }

    fn handle(
        &mut self,
        now: Nanos,
        input: Input<HelloEvent>,
        out: &mut Actions<HelloNotification>,
    ) {
        match input {
            Input::Packet { port, bytes } => self.received(now, port, &bytes, out),
            Input::Timer(HELLO_TIMER) => self.send_hello(now, out),
            Input::Timer(DEAD_TIMER) => self.neighbor_down("dead interval", out),
            Input::Timer(_) => {}
            Input::Interface { port, up: false } if port == self.config.port => {
                self.neighbor_down("port down", out)
            }
            Input::Interface { .. } => {}
            Input::Bfd {
                peer: IpAddr::V4(peer),
                up: false,
            } if Some(peer) == self.neighbor => self.neighbor_down("bfd down", out),
            Input::Bfd { .. } => {}
            Input::Protocol(HelloEvent::ClearNeighbor) => self.neighbor_down("cleared", out),
        }
    }

    fn reconfigure(
        &mut self,
        now: Nanos,
        config: &HelloConfig,
        out: &mut Actions<HelloNotification>,
    ) {
        let old = std::mem::replace(&mut self.config, config.clone());
        // Only what changed restarts: a new port or router id resets the
        // adjacency, a new hello interval just reschedules the next hello.
        if old.port != config.port || old.router_id != config.router_id {
            self.neighbor_down("reconfigured", out);
            self.send_hello(now, out);
        } else if old.hello_ns != config.hello_ns {
            out.arm_timer(HELLO_TIMER, now + config.hello_ns);
        }
    }

    fn shutdown(&mut self, _now: Nanos, out: &mut Actions<HelloNotification>) {
        out.send(self.config.port, GOODBYE.to_vec());
        out.cancel_timer(HELLO_TIMER);
        self.neighbor_down("shutdown", out);
    }
}
