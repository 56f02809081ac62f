//! Zero-copy packet views (smoltcp style): `Xxx<T: AsRef<[u8]>>` wraps a
//! byte buffer, `new_checked` validates lengths once, accessors never panic,
//! and a `XxxRepr` is the validated, owned high-level form with
//! `parse`/`emit`.

pub mod mac_addr;

pub use mac_addr::MacAddr;
