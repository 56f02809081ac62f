//! BGP-4 (RFC 4271) for vrouter.
//!
//! `packet` is the wire layer: every message the speaker sends or receives,
//! parsed into typed values and emitted back, with UPDATE errors classified
//! the way RFC 7606 asks (treat-as-withdraw, attribute discard, session
//! reset). The FSM, RIBs and policy build on those types.

pub mod packet;
