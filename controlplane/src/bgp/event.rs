//! What crosses the sans-IO boundary between the BGP core and its TCP
//! adapter: connection events and bytes in ([`BgpEvent`]), connect / send /
//! close requests and news for the owner out ([`BgpNotification`]).
//!
//! The adapter owns the sockets. Every TCP connection has a [`ConnId`]:
//! the core picks the ids of connections it asks for
//! ([`BgpNotification::Connect`]), the adapter those it accepts on port
//! 179 ([`BgpEvent::Accepted`]). Two connections to one peer at once are
//! normal (a collision, RFC 4271 §6.8) and are told apart by their ids.

use std::fmt;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::fsm::{EventKind, State};
use super::packet::{Afi, Notification, Safi};

/// One TCP connection. Outbound ids are chosen by the core, inbound ones
/// by the adapter, so the two never clash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnId {
    /// We connected (we sent the SYN).
    Outbound(u64),
    /// The peer connected to our port 179.
    Inbound(u64),
}

impl ConnId {
    pub fn is_outbound(self) -> bool {
        matches!(self, ConnId::Outbound(_))
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConnId::Outbound(n) => write!(f, "out#{n}"),
            ConnId::Inbound(n) => write!(f, "in#{n}"),
        }
    }
}

/// How the adapter must set up the sockets of one neighbor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transport {
    /// The neighbor's address and port.
    pub remote: SocketAddr,
    /// `update-source`: bind outgoing connections to this address.
    pub local: Option<IpAddr>,
    /// IP TTL / hop limit of our packets: 1 for a single-hop eBGP peer,
    /// `ebgp-multihop` if set, 255 for iBGP and GTSM.
    pub ttl: u8,
    /// GTSM (RFC 5082 §3): drop packets from the peer with a lower TTL.
    pub min_ttl: Option<u8>,
    /// TCP-MD5 key (RFC 2385).
    pub md5: Option<String>,
}

/// Inputs from the TCP adapter and the operator.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BgpEvent {
    /// The connection asked for with [`BgpNotification::Connect`] is up.
    Connected {
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// That connection could not be made (refused, unreachable, timed out).
    ConnectFailed { conn: ConnId },
    /// A connection to our port 179 was accepted; `conn` is an
    /// [`ConnId::Inbound`] the adapter picked.
    Accepted {
        conn: ConnId,
        local: SocketAddr,
        remote: SocketAddr,
    },
    /// Bytes read from a connection, in order; any split is fine.
    Bytes {
        conn: ConnId,
        #[serde(with = "crate::protocol::hex_bytes")]
        data: Vec<u8>,
    },
    /// The connection closed or failed (FIN, RST, write error).
    Closed { conn: ConnId },
    /// The operator's `clear bgp ADDR`: close the session with Cease /
    /// Administrative Reset and start again at once (also lifts a
    /// maximum-prefix hold-down).
    Clear { peer: IpAddr },
}

/// Why a peer's state changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The FSM event (RFC 4271 §8.1) that moved it.
    Event(EventKind),
    /// We sent this NOTIFICATION and closed the connection.
    Sent(Notification),
    /// The peer sent this NOTIFICATION.
    Received(Notification),
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Event(kind) => match kind.number() {
                Some(n) => write!(f, "{kind:?} (event {n})"),
                None => write!(f, "{kind:?}"),
            },
            Reason::Sent(n) => write!(f, "sent NOTIFICATION {n}"),
            Reason::Received(n) => write!(f, "received NOTIFICATION {n}"),
        }
    }
}

/// Outputs for the TCP adapter and the owner of the instance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BgpNotification {
    /// Open a TCP connection; answer with `Connected` or `ConnectFailed`.
    Connect {
        peer: IpAddr,
        conn: ConnId,
        transport: Transport,
    },
    /// Write these bytes to the connection.
    Send {
        peer: IpAddr,
        conn: ConnId,
        #[serde(with = "crate::protocol::hex_bytes")]
        bytes: Vec<u8>,
    },
    /// Close the connection once what was sent on it is flushed (a
    /// NOTIFICATION usually precedes this), or abandon the attempt.
    Close { peer: IpAddr, conn: ConnId },
    /// A neighbor was added or changed (`Some`), or removed (`None`): what
    /// its sockets need, e.g. the MD5 key on the listening socket.
    PeerTransport {
        peer: IpAddr,
        transport: Option<Transport>,
    },
    /// The peer's FSM moved.
    SessionState {
        peer: IpAddr,
        from: State,
        to: State,
        reason: Reason,
    },
    /// The peer asked for our routes again (RFC 2918 ROUTE-REFRESH).
    RefreshRequested { peer: IpAddr, afi: Afi, safi: Safi },
    /// The peer finished its initial routes for a family (RFC 4724 §2).
    EndOfRib { peer: IpAddr, afi: Afi, safi: Safi },
    /// Accepted routes went over the configured maximum (RFC 4486 when
    /// `teardown`; a warning otherwise).
    PrefixLimitExceeded {
        peer: IpAddr,
        count: u32,
        limit: u32,
        teardown: bool,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_serialise_readably_and_round_trip() {
        let event = BgpEvent::Bytes {
            conn: ConnId::Inbound(3),
            data: vec![0xff, 0x00, 0x13, 0x04],
        };
        let json = serde_json::to_string(&event).unwrap();
        assert_eq!(
            json,
            r#"{"bytes":{"conn":{"inbound":3},"data":"ff001304"}}"#
        );
        assert_eq!(serde_json::from_str::<BgpEvent>(&json).unwrap(), event);
        assert!(
            serde_json::from_str::<BgpEvent>(r#"{"bytes":{"conn":{"inbound":3},"data":"f"}}"#)
                .is_err()
        );
    }
}
