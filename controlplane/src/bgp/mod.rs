//! BGP-4 (RFC 4271) for vrouter.
//!
//! `packet` is the wire layer: every message the speaker sends or receives,
//! parsed into typed values and emitted back, with UPDATE errors classified
//! the way RFC 7606 asks (treat-as-withdraw, attribute discard, session
//! reset). The FSM, RIBs and policy build on those types.
//!
//! The session layer is sans-IO (DESIGN.md): `fsm` is the RFC 4271 §8.2.2
//! table, `peer` one neighbor (its connections, timers, negotiated session
//! and Adj-RIB-In), `instance` the [`Bgp`] protocol holding every peer. A
//! TCP adapter feeds it [`BgpEvent`]s and carries out the connect, send and
//! close requests among its [`BgpNotification`]s.

pub mod adj_rib_in;
pub mod collision;
pub mod config;
pub mod error;
pub mod event;
pub mod fsm;
pub mod instance;
pub mod jitter;
pub mod negotiation;
pub mod origination;
pub mod packet;
pub mod peer;
pub mod timer;

pub use config::{BgpConfig, NeighborConfig};
pub use event::{BgpEvent, BgpNotification, ConnId};
pub use instance::Bgp;
