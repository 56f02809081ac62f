//! Bidirectional Forwarding Detection on the dataplane core: RFC 5880
//! asynchronous mode, RFC 5881 single-hop and RFC 5883 multihop
//! encapsulation, as a sans-IO engine the forwarding loop drives.
//!
//! The loop owns one [`BfdEngine`] per core and, every turn:
//! - hands it each UDP datagram to port 3784/4784 addressed to the router
//!   ([`BfdEngine::receive`]), with the IP TTL and the arrival port;
//! - calls [`BfdEngine::poll`] with the time, sending every [`BfdTx`] it
//!   yields (UDP/IP built by the loop, TTL 255);
//! - applies [`BfdCommand`]s from the control plane and forwards
//!   [`BfdEvent`]s to it ([`BfdEngine::drain_events`]).
//!
//! The engine clears the [`Liveness`](crate::fib::Liveness) bit of every next hop a session
//! guards the moment that session leaves Up, inside the call that noticed,
//! so forwarding moves to the backup tier before the control plane has
//! even heard of it.
//!
//! Not implemented (RFC 5880 leaves both optional): Demand mode (we never
//! set D, but honour a peer's) and the Echo function (we advertise
//! Required Min Echo RX 0). See [`session`].

pub mod auth;
pub mod command;
pub mod dampening;
pub mod engine;
pub mod event;
pub mod packet;
pub mod session;
pub mod state;
pub mod status;
pub mod transmit;
pub mod verdict;

pub use auth::{AuthConfig, AuthKey, AuthSection, AuthType};
pub use command::{BfdCommand, BfdCommandError};
pub use dampening::DampeningConfig;
pub use engine::{BfdEngine, EngineCounters};
pub use event::BfdEvent;
pub use packet::{BfdError, BfdPacket, BfdRepr, MAX_BFD_PACKET};
pub use session::{SessionCounters, SessionKey, SessionParams};
pub use state::{Diagnostic, State};
pub use status::SessionStatus;
pub use transmit::BfdTx;
pub use verdict::{DropReason, RxVerdict};

/// Monotonic nanoseconds: the dataplane's clock.
pub type Nanos = u64;

/// UDP destination port of single-hop control packets (RFC 5881 §4).
pub const SINGLE_HOP_PORT: u16 = 3784;
/// UDP destination port of multihop control packets (RFC 5883 §5).
pub const MULTIHOP_PORT: u16 = 4784;
/// The first UDP source port a session may use (RFC 5881 §4: 49152–65535).
pub const SOURCE_PORT_FIRST: u16 = 49152;
