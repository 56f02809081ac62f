//! The vrouter forwarding plane.
//!
//! Everything that touches packets at line rate lives here and depends on no
//! other workspace crate: zero-copy packet views ([`packet`]), the FIB with
//! next-hop groups and lock-free publication ([`fib`]), the run-to-completion
//! forwarding pipeline ([`pipeline`]) and the I/O backends behind one port
//! trait ([`port`]).

pub mod bfd;
pub mod fib;
pub mod huge_page_memory;
pub mod neighbor;
pub mod packet;
pub mod pipeline;
pub mod port;
