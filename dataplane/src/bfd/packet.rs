//! BFD Control packets (RFC 5880 §4.1): a zero-copy view and the owned,
//! validated representation, in the style of `crate::packet`.
//!
//! The view reads every field through bounds-checked access, so a view over
//! a short buffer yields zeros and its setters write nothing; `new_checked`
//! validates the lengths once. [`BfdRepr::parse`] applies the
//! session-independent reception checks of §6.8.6 in the RFC's order;
//! the session-dependent ones (demultiplexing, the A bit against the
//! session's authentication, §6.7) belong to the engine and the session.

use std::fmt;

use super::auth::{AuthSection, AuthType};
use super::state::{Diagnostic, State};

/// The mandatory section (§4.1).
pub const HEADER_LEN: usize = 24;
/// The shortest packet with the A bit set: header plus Auth Type and
/// Auth Len (§6.8.6).
pub const MIN_AUTH_LEN: usize = HEADER_LEN + 2;
/// The longest packet this implementation emits or verifies: the header
/// and a keyed SHA1 section (§4.4).
pub const MAX_BFD_PACKET: usize = HEADER_LEN + super::auth::SHA1_SECTION_LEN;
/// The only protocol version (§4.1).
pub const VERSION: u8 = 1;

mod offset {
    pub const VERS_DIAG: usize = 0;
    pub const STATE_FLAGS: usize = 1;
    pub const DETECT_MULT: usize = 2;
    pub const LENGTH: usize = 3;
    pub const MY_DISCRIMINATOR: usize = 4;
    pub const YOUR_DISCRIMINATOR: usize = 8;
    pub const DESIRED_MIN_TX: usize = 12;
    pub const REQUIRED_MIN_RX: usize = 16;
    pub const REQUIRED_MIN_ECHO_RX: usize = 20;
    pub const AUTH_TYPE: usize = 24;
    pub const AUTH_LEN: usize = 25;
}

mod flag {
    pub const POLL: u8 = 0x20;
    pub const FINAL: u8 = 0x10;
    pub const CONTROL_PLANE_INDEPENDENT: u8 = 0x08;
    pub const AUTH_PRESENT: u8 = 0x04;
    pub const DEMAND: u8 = 0x02;
    pub const MULTIPOINT: u8 = 0x01;
}

/// Why a received BFD Control packet was discarded before demultiplexing
/// (RFC 5880 §6.8.6, §4.2–§4.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BfdError {
    /// The buffer ends before the mandatory section or before Length.
    Truncated,
    /// Version is not 1.
    BadVersion(u8),
    /// Length is below 24 (26 with the A bit).
    BadLength(u8),
    /// Auth Len disagrees with Length or with its Auth Type's format.
    BadAuthLen,
    UnknownAuthType(u8),
    ZeroDetectMult,
    /// The reserved Multipoint bit is set.
    Multipoint,
    ZeroMyDiscriminator,
    /// Your Discriminator is zero while State is Init or Up.
    ZeroYourDiscriminator(State),
}

impl fmt::Display for BfdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BfdError::Truncated => {
                f.write_str("BFD packet shorter than its header or Length field")
            }
            BfdError::BadVersion(v) => write!(f, "BFD version {v}, only version 1 exists"),
            BfdError::BadLength(len) => write!(f, "BFD Length {len} below the minimum"),
            BfdError::BadAuthLen => {
                f.write_str("BFD Auth Len inconsistent with Length or with its auth type")
            }
            BfdError::UnknownAuthType(t) => write!(f, "BFD auth type {t} is not defined"),
            BfdError::ZeroDetectMult => f.write_str("BFD Detect Mult is zero"),
            BfdError::Multipoint => f.write_str("BFD Multipoint bit set"),
            BfdError::ZeroMyDiscriminator => f.write_str("BFD My Discriminator is zero"),
            BfdError::ZeroYourDiscriminator(state) => {
                write!(f, "BFD Your Discriminator is zero in state {state}")
            }
        }
    }
}

impl std::error::Error for BfdError {}

fn u8_at(buf: &[u8], at: usize) -> u8 {
    buf.get(at).copied().unwrap_or(0)
}

fn u32_at(buf: &[u8], at: usize) -> u32 {
    match buf.get(at..).and_then(<[u8]>::first_chunk::<4>) {
        Some(b) => u32::from_be_bytes(*b),
        None => 0,
    }
}

fn set_u8(buf: &mut [u8], at: usize, value: u8) {
    if let Some(b) = buf.get_mut(at) {
        *b = value;
    }
}

fn set_u32(buf: &mut [u8], at: usize, value: u32) {
    if let Some(b) = buf.get_mut(at..).and_then(<[u8]>::first_chunk_mut::<4>) {
        *b = value.to_be_bytes();
    }
}

/// A view of a BFD Control packet; the buffer is the UDP payload.
#[derive(Debug, Clone, Copy)]
pub struct BfdPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> BfdPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        BfdPacket { buffer }
    }

    /// Requires the mandatory section, a Length between its minimum and
    /// the buffer length, and, with the A bit, an Auth Len that ends the
    /// packet exactly (Length = 24 + Auth Len, §4.1 "Length").
    pub fn new_checked(buffer: T) -> Result<Self, BfdError> {
        let packet = BfdPacket { buffer };
        packet.check_len()?;
        Ok(packet)
    }

    fn check_len(&self) -> Result<(), BfdError> {
        let buf_len = self.buf().len();
        if buf_len < HEADER_LEN {
            return Err(BfdError::Truncated);
        }
        let length = self.length();
        let min = if self.auth_present() {
            MIN_AUTH_LEN
        } else {
            HEADER_LEN
        };
        if usize::from(length) < min {
            return Err(BfdError::BadLength(length));
        }
        if usize::from(length) > buf_len {
            return Err(BfdError::Truncated);
        }
        if self.auth_present() && HEADER_LEN + usize::from(self.auth_len()) != usize::from(length) {
            return Err(BfdError::BadAuthLen);
        }
        Ok(())
    }

    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn buf(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    pub fn version(&self) -> u8 {
        u8_at(self.buf(), offset::VERS_DIAG) >> 5
    }

    pub fn diag(&self) -> Diagnostic {
        Diagnostic::from(u8_at(self.buf(), offset::VERS_DIAG) & 0x1f)
    }

    pub fn state(&self) -> State {
        State::from_bits(u8_at(self.buf(), offset::STATE_FLAGS) >> 6)
    }

    fn flag(&self, mask: u8) -> bool {
        u8_at(self.buf(), offset::STATE_FLAGS) & mask != 0
    }

    pub fn poll(&self) -> bool {
        self.flag(flag::POLL)
    }

    pub fn final_(&self) -> bool {
        self.flag(flag::FINAL)
    }

    pub fn control_plane_independent(&self) -> bool {
        self.flag(flag::CONTROL_PLANE_INDEPENDENT)
    }

    pub fn auth_present(&self) -> bool {
        self.flag(flag::AUTH_PRESENT)
    }

    pub fn demand(&self) -> bool {
        self.flag(flag::DEMAND)
    }

    pub fn multipoint(&self) -> bool {
        self.flag(flag::MULTIPOINT)
    }

    pub fn detect_mult(&self) -> u8 {
        u8_at(self.buf(), offset::DETECT_MULT)
    }

    /// Bytes of the whole control packet, authentication included.
    pub fn length(&self) -> u8 {
        u8_at(self.buf(), offset::LENGTH)
    }

    pub fn my_discriminator(&self) -> u32 {
        u32_at(self.buf(), offset::MY_DISCRIMINATOR)
    }

    pub fn your_discriminator(&self) -> u32 {
        u32_at(self.buf(), offset::YOUR_DISCRIMINATOR)
    }

    /// Microseconds.
    pub fn desired_min_tx(&self) -> u32 {
        u32_at(self.buf(), offset::DESIRED_MIN_TX)
    }

    /// Microseconds; zero asks the peer to send no periodic packets.
    pub fn required_min_rx(&self) -> u32 {
        u32_at(self.buf(), offset::REQUIRED_MIN_RX)
    }

    /// Microseconds; zero means Echo packets are not looped back.
    pub fn required_min_echo_rx(&self) -> u32 {
        u32_at(self.buf(), offset::REQUIRED_MIN_ECHO_RX)
    }

    /// Meaningful only with the A bit set.
    pub fn auth_type(&self) -> AuthType {
        AuthType::from(u8_at(self.buf(), offset::AUTH_TYPE))
    }

    pub fn auth_len(&self) -> u8 {
        u8_at(self.buf(), offset::AUTH_LEN)
    }

    /// Bytes 0..Length, clamped to the buffer: what §6.7 digests cover.
    pub fn packet(&self) -> &[u8] {
        let buf = self.buf();
        buf.get(..usize::from(self.length()).min(buf.len()))
            .unwrap_or(&[])
    }

    /// Bytes 24..Length (empty without them).
    pub fn auth_section(&self) -> &[u8] {
        self.packet().get(HEADER_LEN..).unwrap_or(&[])
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> BfdPacket<T> {
    fn buf_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets Version and Diag.
    pub fn set_version_diag(&mut self, version: u8, diag: Diagnostic) {
        let value = (version << 5) | (u8::from(diag) & 0x1f);
        set_u8(self.buf_mut(), offset::VERS_DIAG, value);
    }

    /// Sets State and the six flag bits in one byte write.
    #[allow(clippy::too_many_arguments)]
    pub fn set_state_flags(
        &mut self,
        state: State,
        poll: bool,
        final_: bool,
        control_plane_independent: bool,
        auth_present: bool,
        demand: bool,
        multipoint: bool,
    ) {
        let mut value = state.bits() << 6;
        for (on, mask) in [
            (poll, flag::POLL),
            (final_, flag::FINAL),
            (control_plane_independent, flag::CONTROL_PLANE_INDEPENDENT),
            (auth_present, flag::AUTH_PRESENT),
            (demand, flag::DEMAND),
            (multipoint, flag::MULTIPOINT),
        ] {
            if on {
                value |= mask;
            }
        }
        set_u8(self.buf_mut(), offset::STATE_FLAGS, value);
    }

    pub fn set_detect_mult(&mut self, value: u8) {
        set_u8(self.buf_mut(), offset::DETECT_MULT, value);
    }

    pub fn set_length(&mut self, value: u8) {
        set_u8(self.buf_mut(), offset::LENGTH, value);
    }

    pub fn set_my_discriminator(&mut self, value: u32) {
        set_u32(self.buf_mut(), offset::MY_DISCRIMINATOR, value);
    }

    pub fn set_your_discriminator(&mut self, value: u32) {
        set_u32(self.buf_mut(), offset::YOUR_DISCRIMINATOR, value);
    }

    pub fn set_desired_min_tx(&mut self, value: u32) {
        set_u32(self.buf_mut(), offset::DESIRED_MIN_TX, value);
    }

    pub fn set_required_min_rx(&mut self, value: u32) {
        set_u32(self.buf_mut(), offset::REQUIRED_MIN_RX, value);
    }

    pub fn set_required_min_echo_rx(&mut self, value: u32) {
        set_u32(self.buf_mut(), offset::REQUIRED_MIN_ECHO_RX, value);
    }

    /// Bytes 24.. of the buffer, where the auth section is written.
    pub fn auth_section_mut(&mut self) -> &mut [u8] {
        self.buf_mut().get_mut(HEADER_LEN..).unwrap_or(&mut [])
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for BfdPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A validated BFD Control packet. Version is always 1 and the Multipoint
/// bit always clear (§4.1), so neither is a field; the A bit is
/// `auth.is_some()`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BfdRepr {
    pub diag: Diagnostic,
    pub state: State,
    pub poll: bool,
    pub final_: bool,
    pub control_plane_independent: bool,
    pub demand: bool,
    pub detect_mult: u8,
    pub my_discriminator: u32,
    pub your_discriminator: u32,
    pub desired_min_tx_us: u32,
    pub required_min_rx_us: u32,
    pub required_min_echo_rx_us: u32,
    pub auth: Option<AuthSection>,
}

impl BfdRepr {
    /// The reception checks of §6.8.6 that need no session, in the RFC's
    /// order: version, Length (against the A bit and the buffer), Detect
    /// Mult, Multipoint, My Discriminator, Your Discriminator against
    /// State; then the auth section's format (§4.2–§4.4).
    pub fn parse<T: AsRef<[u8]>>(packet: &BfdPacket<T>) -> Result<Self, BfdError> {
        if packet.buf().is_empty() {
            return Err(BfdError::Truncated);
        }
        if packet.version() != VERSION {
            return Err(BfdError::BadVersion(packet.version()));
        }
        packet.check_len()?;
        if packet.detect_mult() == 0 {
            return Err(BfdError::ZeroDetectMult);
        }
        if packet.multipoint() {
            return Err(BfdError::Multipoint);
        }
        if packet.my_discriminator() == 0 {
            return Err(BfdError::ZeroMyDiscriminator);
        }
        let state = packet.state();
        if packet.your_discriminator() == 0 && !matches!(state, State::Down | State::AdminDown) {
            return Err(BfdError::ZeroYourDiscriminator(state));
        }
        let auth = if packet.auth_present() {
            Some(AuthSection::parse(packet.auth_section())?)
        } else {
            None
        };
        Ok(BfdRepr {
            diag: packet.diag(),
            state,
            poll: packet.poll(),
            final_: packet.final_(),
            control_plane_independent: packet.control_plane_independent(),
            demand: packet.demand(),
            detect_mult: packet.detect_mult(),
            my_discriminator: packet.my_discriminator(),
            your_discriminator: packet.your_discriminator(),
            desired_min_tx_us: packet.desired_min_tx(),
            required_min_rx_us: packet.required_min_rx(),
            required_min_echo_rx_us: packet.required_min_echo_rx(),
            auth,
        })
    }

    /// The whole packet: header plus authentication section.
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.auth.as_ref().map_or(0, AuthSection::buffer_len)
    }

    /// Writes the packet into the first `buffer_len()` bytes of the view.
    /// Keyed sections are written as given; see [`super::auth::seal`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut BfdPacket<T>) {
        packet.set_version_diag(VERSION, self.diag);
        packet.set_state_flags(
            self.state,
            self.poll,
            self.final_,
            self.control_plane_independent,
            self.auth.is_some(),
            self.demand,
            false,
        );
        packet.set_detect_mult(self.detect_mult);
        packet.set_length(u8::try_from(self.buffer_len()).unwrap_or(u8::MAX));
        packet.set_my_discriminator(self.my_discriminator);
        packet.set_your_discriminator(self.your_discriminator);
        packet.set_desired_min_tx(self.desired_min_tx_us);
        packet.set_required_min_rx(self.required_min_rx_us);
        packet.set_required_min_echo_rx(self.required_min_echo_rx_us);
        if let Some(auth) = &self.auth {
            auth.emit(packet.auth_section_mut());
        }
    }
}
