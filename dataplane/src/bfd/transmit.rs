//! What the engine hands the forwarding loop to send: one BFD Control
//! packet and the UDP/IP envelope it needs (RFC 5881 §4–§5, RFC 5883 §5).

use std::net::IpAddr;

use super::packet::MAX_BFD_PACKET;
use super::session::{SessionKey, TX_TTL};
use crate::port::PortId;

/// One packet to send. The loop wraps `packet()` in UDP `src_port` →
/// `dst_port` and IP `src` → `dst` with TTL/hop limit `ttl`, and sends it
/// out of `port` (single-hop) or wherever the FIB routes `dst` (multihop).
/// Plain data on the stack: building one allocates nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BfdTx {
    pub key: SessionKey,
    pub port: Option<PortId>,
    pub src: IpAddr,
    pub dst: IpAddr,
    /// 49152..=65535, fixed per session (RFC 5881 §4).
    pub src_port: u16,
    /// 3784 single-hop, 4784 multihop.
    pub dst_port: u16,
    /// Always 255 (RFC 5881 §5).
    pub ttl: u8,
    pub len: usize,
    /// `payload[..len]` is the control packet, authentication included.
    pub payload: [u8; MAX_BFD_PACKET],
}

impl BfdTx {
    pub(crate) fn new(key: &SessionKey, src_port: u16) -> Self {
        BfdTx {
            key: *key,
            port: if key.multihop { None } else { key.port },
            src: key.local,
            dst: key.peer,
            src_port,
            dst_port: key.udp_dst_port(),
            ttl: TX_TTL,
            len: 0,
            payload: [0; MAX_BFD_PACKET],
        }
    }

    /// The control packet bytes.
    pub fn packet(&self) -> &[u8] {
        self.payload.get(..self.len).unwrap_or(&self.payload)
    }
}
