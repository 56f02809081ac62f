//! The BGP instance: every configured peer behind one [`Protocol`].
//!
//! Inputs are routed to the peer they concern — by connection id, by the
//! remote address of an accepted connection, by the peer index in a timer
//! token — so nothing one neighbor does reaches another. Reconfiguration
//! follows BIRD: a neighbor added starts alone, one removed stops alone,
//! one changed restarts only if the change is something its OPEN or its
//! socket carries.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnet::IpNet;

use super::config::{BgpConfig, NeighborConfig};
use super::event::{BgpEvent, BgpNotification, ConnId};
use super::negotiation::LocalSpeaker;
use super::packet::{CeaseSubcode, Notification};
use super::peer::{Env, Peer};
use super::timer::Timer;
use crate::clock::Nanos;
use crate::protocol::{Actions, Input, Protocol};

/// The shutdown communication sent to every peer (RFC 8203).
pub const SHUTDOWN_MESSAGE: &str = "vrouterd: BGP shutting down";

pub struct Bgp {
    name: String,
    config: BgpConfig,
    local: LocalSpeaker,
    peers: BTreeMap<IpAddr, Peer>,
    /// Next peer index; indices are never reused, so a stale timer or RIB
    /// candidate of a removed peer can never be taken for a new one's.
    next_index: u32,
    running: bool,
}

impl Bgp {
    /// An instance for `config`, which the caller has validated
    /// ([`BgpConfig::validate`]). Nothing happens before `start`.
    pub fn new(name: impl Into<String>, config: BgpConfig) -> Bgp {
        let mut bgp = Bgp {
            name: name.into(),
            local: LocalSpeaker {
                asn: config.local_as,
                router_id: config.router_id,
            },
            config: config.clone(),
            peers: BTreeMap::new(),
            next_index: 1,
            running: false,
        };
        for neighbor in config.neighbors {
            bgp.add_peer(neighbor);
        }
        bgp
    }

    pub fn config(&self) -> &BgpConfig {
        &self.config
    }

    pub fn peer(&self, address: IpAddr) -> Option<&Peer> {
        self.peers.get(&address)
    }

    /// Every peer, ordered by address.
    pub fn peers(&self) -> impl Iterator<Item = &Peer> + '_ {
        self.peers.values()
    }

    fn add_peer(&mut self, neighbor: NeighborConfig) {
        let address = neighbor.address;
        let peer = Peer::new(self.next_index, neighbor, self.config.seed);
        self.next_index = self.next_index.saturating_add(1);
        self.peers.insert(address, peer);
    }

    /// Runs `f` on one peer with the instance's environment.
    fn with_peer(
        &mut self,
        address: IpAddr,
        now: Nanos,
        out: &mut Actions<BgpNotification>,
        f: impl FnOnce(&mut Peer, &mut Env),
    ) {
        let Some(peer) = self.peers.get_mut(&address) else {
            return;
        };
        let mut env = Env {
            now,
            local: &self.local,
            networks: &self.config.networks,
            out,
        };
        f(peer, &mut env);
    }

    fn peer_owning(&self, conn: ConnId) -> Option<IpAddr> {
        self.peers
            .values()
            .find(|p| p.owns(conn))
            .map(Peer::address)
    }

    fn start_peer(&mut self, address: IpAddr, now: Nanos, out: &mut Actions<BgpNotification>) {
        let Some(transport) = self.peers.get(&address).map(|p| p.transport(&self.local)) else {
            return;
        };
        out.notify(BgpNotification::PeerTransport {
            peer: address,
            transport: Some(transport),
        });
        self.with_peer(address, now, out, |peer, env| peer.start(env, false));
    }

    fn handle_event(&mut self, now: Nanos, event: BgpEvent, out: &mut Actions<BgpNotification>) {
        match event {
            BgpEvent::Connected {
                conn,
                local,
                remote,
            } => match self.peer_owning(conn) {
                Some(address) => self.with_peer(address, now, out, |peer, env| {
                    peer.on_connected(env, conn, local, remote)
                }),
                None => out.notify(BgpNotification::Close {
                    peer: remote.ip(),
                    conn,
                }),
            },
            BgpEvent::ConnectFailed { conn } => {
                if let Some(address) = self.peer_owning(conn) {
                    self.with_peer(address, now, out, |peer, env| {
                        peer.on_connect_failed(env, conn)
                    });
                }
            }
            BgpEvent::Accepted {
                conn,
                local,
                remote,
            } => {
                // A dual-stack listener reports IPv4 peers as ::ffff:a.b.c.d.
                let address = remote.ip().to_canonical();
                let known = self.peers.contains_key(&address);
                if !known || conn.is_outbound() || self.peer_owning(conn).is_some() {
                    tracing::info!(%remote, %conn, "refusing BGP connection: no such neighbor");
                    out.notify(BgpNotification::Close {
                        peer: address,
                        conn,
                    });
                    return;
                }
                self.with_peer(address, now, out, |peer, env| {
                    peer.on_accepted(env, conn, local, remote)
                });
            }
            BgpEvent::Bytes { conn, data } => {
                if let Some(address) = self.peer_owning(conn) {
                    self.with_peer(address, now, out, |peer, env| {
                        peer.on_bytes(env, conn, &data)
                    });
                }
            }
            BgpEvent::Closed { conn } => {
                if let Some(address) = self.peer_owning(conn) {
                    self.with_peer(address, now, out, |peer, env| peer.on_closed(env, conn));
                }
            }
            BgpEvent::Clear { peer } => {
                self.with_peer(peer, now, out, |peer, env| peer.clear(env));
            }
        }
    }
}

impl Protocol for Bgp {
    type Config = BgpConfig;
    type Event = BgpEvent;
    type Notification = BgpNotification;

    fn name(&self) -> &str {
        &self.name
    }

    fn start(&mut self, now: Nanos, out: &mut Actions<BgpNotification>) {
        self.running = true;
        let addresses: Vec<IpAddr> = self.peers.keys().copied().collect();
        for address in addresses {
            self.start_peer(address, now, out);
        }
    }

    fn handle(&mut self, now: Nanos, input: Input<BgpEvent>, out: &mut Actions<BgpNotification>) {
        if !self.running {
            // Stopped: a connection the adapter still accepted is refused.
            if let Input::Protocol(BgpEvent::Accepted { conn, remote, .. }) = input {
                out.notify(BgpNotification::Close {
                    peer: remote.ip().to_canonical(),
                    conn,
                });
            }
            return;
        }
        match input {
            Input::Protocol(event) => self.handle_event(now, event, out),
            Input::Timer(token) => {
                let Some(timer) = Timer::from_token(token) else {
                    return;
                };
                let Some(address) = self
                    .peers
                    .values()
                    .find(|p| p.index() == timer.peer)
                    .map(Peer::address)
                else {
                    return;
                };
                self.with_peer(address, now, out, |peer, env| peer.on_timer(env, timer));
            }
            Input::Bfd { peer, up: false } => {
                self.with_peer(peer, now, out, |peer, env| peer.on_bfd_down(env));
            }
            // BFD Up needs nothing: the session restarts on its own.
            Input::Bfd { up: true, .. } | Input::Interface { .. } | Input::Packet { .. } => {}
        }
    }

    fn reconfigure(&mut self, now: Nanos, config: &BgpConfig, out: &mut Actions<BgpNotification>) {
        if let Err(error) = config.validate() {
            tracing::error!(%error, "BGP configuration refused; keeping the running one");
            return;
        }
        let old = std::mem::replace(&mut self.config, config.clone());

        // Removed neighbors: Cease / Peer De-configured (RFC 4486).
        let removed: Vec<IpAddr> = self
            .peers
            .keys()
            .copied()
            .filter(|address| config.neighbor(*address).is_none())
            .collect();
        let deconfigured = Notification::cease(CeaseSubcode::PeerDeconfigured);
        for address in removed {
            self.with_peer(address, now, out, |peer, env| {
                peer.remove(env, &deconfigured)
            });
            self.peers.remove(&address);
            out.notify(BgpNotification::PeerTransport {
                peer: address,
                transport: None,
            });
        }

        let change = Notification::cease(CeaseSubcode::OtherConfigurationChange);
        if config.local_as != old.local_as || config.router_id != old.router_id {
            // Every OPEN said the old AS or identifier: all sessions restart.
            // Routes leave the RIB under the old source (iBGP or eBGP
            // depends on our AS) before the new one applies.
            let addresses: Vec<IpAddr> = self.peers.keys().copied().collect();
            for &address in &addresses {
                self.with_peer(address, now, out, |peer, env| peer.remove(env, &change));
            }
            self.local = LocalSpeaker {
                asn: config.local_as,
                router_id: config.router_id,
            };
            for neighbor in &config.neighbors {
                match self.peers.get_mut(&neighbor.address) {
                    Some(peer) => peer.set_config(neighbor.clone()),
                    None => self.add_peer(neighbor.clone()),
                }
            }
            if self.running {
                let addresses: Vec<IpAddr> = self.peers.keys().copied().collect();
                for address in addresses {
                    self.start_peer(address, now, out);
                }
            }
            return;
        }

        for neighbor in &config.neighbors {
            let address = neighbor.address;
            let Some(current) = self.peers.get(&address).map(|p| p.config().clone()) else {
                self.add_peer(neighbor.clone());
                if self.running {
                    self.start_peer(address, now, out);
                }
                continue;
            };
            if current == *neighbor {
                continue;
            }
            if current.needs_reset(neighbor) {
                tracing::info!(peer = %address, "neighbor settings changed: resetting its session");
                // Stop under the old settings (the RIB source depends on
                // remote-as), then start under the new ones.
                self.with_peer(address, now, out, |peer, env| peer.remove(env, &change));
                if let Some(peer) = self.peers.get_mut(&address) {
                    peer.set_config(neighbor.clone());
                }
                if self.running {
                    self.start_peer(address, now, out);
                }
            } else {
                let neighbor = neighbor.clone();
                self.with_peer(address, now, out, |peer, env| {
                    peer.update_config(env, neighbor)
                });
            }
        }

        let added: Vec<IpNet> = config
            .networks
            .iter()
            .filter(|n| !old.networks.contains(n))
            .copied()
            .collect();
        let withdrawn: Vec<IpNet> = old
            .networks
            .iter()
            .filter(|n| !config.networks.contains(n))
            .copied()
            .collect();
        if !added.is_empty() || !withdrawn.is_empty() {
            let addresses: Vec<IpAddr> = self.peers.keys().copied().collect();
            for address in addresses {
                self.with_peer(address, now, out, |peer, env| {
                    peer.networks_changed(env, &added, &withdrawn)
                });
            }
        }
    }

    fn shutdown(&mut self, now: Nanos, out: &mut Actions<BgpNotification>) {
        let cease = Notification::administrative_shutdown(SHUTDOWN_MESSAGE);
        let addresses: Vec<IpAddr> = self.peers.keys().copied().collect();
        for address in addresses {
            self.with_peer(address, now, out, |peer, env| peer.remove(env, &cease));
        }
        self.running = false;
    }
}
