//! IPv4 headers (RFC 791), with the router's requirements of RFC 1812.

mod option;

use std::net::Ipv4Addr;

pub use option::{Ipv4Option, Ipv4Options};

use super::checksum;
use super::error::ParseError;
use super::field;
use super::ip_protocol::IpProtocol;

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;

mod offset {
    pub const VER_IHL: usize = 0;
    pub const DSCP_ECN: usize = 1;
    pub const TOTAL_LEN: usize = 2;
    pub const IDENT: usize = 4;
    pub const FLAGS_FRAG: usize = 6;
    pub const TTL: usize = 8;
    pub const PROTOCOL: usize = 9;
    pub const CHECKSUM: usize = 10;
    pub const SRC: usize = 12;
    pub const DST: usize = 16;
}

const FLAG_DONT_FRAG: u16 = 0x4000;
const FLAG_MORE_FRAGS: u16 = 0x2000;
const FRAG_OFFSET_MASK: u16 = 0x1fff;

/// A view of an IPv4 packet.
#[derive(Debug, Clone, Copy)]
pub struct Ipv4Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv4Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv4Packet { buffer }
    }

    /// Validates the version, the header length and the total length
    /// against the buffer. Bytes after `total_len` (Ethernet padding of
    /// short frames) are allowed and ignored by `payload()`.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let packet = Ipv4Packet { buffer };
        packet.check_len()?;
        Ok(packet)
    }

    fn check_len(&self) -> Result<(), ParseError> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        if self.version() != 4 {
            return Err(ParseError::BadVersion);
        }
        let header_len = self.header_len();
        if header_len < HEADER_LEN {
            return Err(ParseError::BadHeaderLen);
        }
        if header_len > len {
            return Err(ParseError::Truncated);
        }
        let total_len = usize::from(self.total_len());
        if total_len < header_len {
            return Err(ParseError::BadLength);
        }
        if total_len > len {
            return Err(ParseError::Truncated);
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
        field::u8_at(self.buf(), offset::VER_IHL) >> 4
    }

    /// Header length in bytes (IHL × 4).
    pub fn header_len(&self) -> usize {
        usize::from(field::u8_at(self.buf(), offset::VER_IHL) & 0x0f) * 4
    }

    /// The former TOS octet: DSCP in the high six bits, ECN in the low two.
    pub fn dscp_ecn(&self) -> u8 {
        field::u8_at(self.buf(), offset::DSCP_ECN)
    }

    pub fn total_len(&self) -> u16 {
        field::u16_at(self.buf(), offset::TOTAL_LEN)
    }

    pub fn ident(&self) -> u16 {
        field::u16_at(self.buf(), offset::IDENT)
    }

    fn flags_frag(&self) -> u16 {
        field::u16_at(self.buf(), offset::FLAGS_FRAG)
    }

    pub fn dont_frag(&self) -> bool {
        self.flags_frag() & FLAG_DONT_FRAG != 0
    }

    pub fn more_frags(&self) -> bool {
        self.flags_frag() & FLAG_MORE_FRAGS != 0
    }

    /// Fragment offset in bytes (the wire carries 8-byte units).
    pub fn frag_offset(&self) -> u16 {
        (self.flags_frag() & FRAG_OFFSET_MASK) << 3
    }

    /// A fragment is any packet with MF set or a non-zero offset.
    pub fn is_fragment(&self) -> bool {
        self.flags_frag() & (FLAG_MORE_FRAGS | FRAG_OFFSET_MASK) != 0
    }

    pub fn ttl(&self) -> u8 {
        field::u8_at(self.buf(), offset::TTL)
    }

    pub fn protocol(&self) -> IpProtocol {
        IpProtocol::from(field::u8_at(self.buf(), offset::PROTOCOL))
    }

    pub fn checksum(&self) -> u16 {
        field::u16_at(self.buf(), offset::CHECKSUM)
    }

    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(field::array_at::<4>(self.buf(), offset::SRC))
    }

    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(field::array_at::<4>(self.buf(), offset::DST))
    }

    /// The raw options area (bytes 20..header_len).
    pub fn options(&self) -> &[u8] {
        field::range(self.buf(), HEADER_LEN, self.header_len())
    }

    pub fn options_iter(&self) -> Ipv4Options<'_> {
        Ipv4Options::new(self.options())
    }

    /// Bytes header_len..total_len: the payload without link-layer padding.
    pub fn payload(&self) -> &[u8] {
        field::range(self.buf(), self.header_len(), usize::from(self.total_len()))
    }

    /// Whether the header checksum is correct (RFC 1071: the sum over the
    /// header, checksum included, is all ones).
    pub fn verify_checksum(&self) -> bool {
        let header_len = self.header_len();
        match self.buf().get(..header_len) {
            Some(header) if header_len >= HEADER_LEN => {
                checksum::fold(checksum::sum(header)) == 0xffff
            }
            _ => false,
        }
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv4Packet<&'a T> {
    /// The payload (header_len..total_len) with the lifetime of the
    /// underlying buffer.
    pub fn into_payload(self) -> &'a [u8] {
        let buf: &'a [u8] = self.buffer.as_ref();
        field::range(buf, self.header_len(), usize::from(self.total_len()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv4Packet<T> {
    fn buf_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    pub fn set_version(&mut self, version: u8) {
        let b = field::u8_at(self.buf(), offset::VER_IHL);
        field::set_u8(self.buf_mut(), offset::VER_IHL, (b & 0x0f) | (version << 4));
    }

    /// Sets IHL from a length in bytes (a multiple of 4, at most 60).
    pub fn set_header_len(&mut self, len: usize) {
        let ihl = ((len / 4) & 0x0f) as u8;
        let b = field::u8_at(self.buf(), offset::VER_IHL);
        field::set_u8(self.buf_mut(), offset::VER_IHL, (b & 0xf0) | ihl);
    }

    pub fn set_dscp_ecn(&mut self, value: u8) {
        field::set_u8(self.buf_mut(), offset::DSCP_ECN, value);
    }

    pub fn set_total_len(&mut self, len: u16) {
        field::set_u16(self.buf_mut(), offset::TOTAL_LEN, len);
    }

    pub fn set_ident(&mut self, ident: u16) {
        field::set_u16(self.buf_mut(), offset::IDENT, ident);
    }

    fn set_flag(&mut self, flag: u16, on: bool) {
        let v = self.flags_frag();
        let v = if on { v | flag } else { v & !flag };
        field::set_u16(self.buf_mut(), offset::FLAGS_FRAG, v);
    }

    pub fn set_dont_frag(&mut self, on: bool) {
        self.set_flag(FLAG_DONT_FRAG, on);
    }

    pub fn set_more_frags(&mut self, on: bool) {
        self.set_flag(FLAG_MORE_FRAGS, on);
    }

    /// Sets the fragment offset from bytes; the wire keeps 8-byte units,
    /// so the low three bits of `bytes` are dropped.
    pub fn set_frag_offset(&mut self, bytes: u16) {
        let v = (self.flags_frag() & !FRAG_OFFSET_MASK) | (bytes >> 3);
        field::set_u16(self.buf_mut(), offset::FLAGS_FRAG, v);
    }

    pub fn set_ttl(&mut self, ttl: u8) {
        field::set_u8(self.buf_mut(), offset::TTL, ttl);
    }

    pub fn set_protocol(&mut self, protocol: IpProtocol) {
        field::set_u8(self.buf_mut(), offset::PROTOCOL, protocol.into());
    }

    pub fn set_checksum(&mut self, value: u16) {
        field::set_u16(self.buf_mut(), offset::CHECKSUM, value);
    }

    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        field::set_array(self.buf_mut(), offset::SRC, addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        field::set_array(self.buf_mut(), offset::DST, addr.octets());
    }

    /// Recomputes the header checksum from scratch.
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let header_len = self.header_len();
        let value = checksum::internet_checksum(field::range(self.buf(), 0, header_len));
        self.set_checksum(value);
    }

    /// Decrements the TTL and patches the checksum incrementally (RFC 1624
    /// eqn. 3; RFC 1812 §5.3.1 allows this instead of a recomputation).
    /// Returns the new TTL. A TTL of 0 is left as is: the forwarder must
    /// have answered with Time Exceeded before getting here.
    pub fn decrement_ttl(&mut self) -> u8 {
        let ttl = self.ttl();
        if ttl == 0 {
            return 0;
        }
        let proto = field::u8_at(self.buf(), offset::PROTOCOL);
        // TTL and Protocol share the 16-bit word the checksum covers.
        let old_word = u16::from_be_bytes([ttl, proto]);
        let new_word = u16::from_be_bytes([ttl - 1, proto]);
        let updated = checksum::update16(self.checksum(), old_word, new_word);
        self.set_ttl(ttl - 1);
        self.set_checksum(updated);
        ttl - 1
    }

    pub fn options_mut(&mut self) -> &mut [u8] {
        let header_len = self.header_len();
        field::range_mut(self.buf_mut(), HEADER_LEN, header_len)
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let (from, to) = (self.header_len(), usize::from(self.total_len()));
        field::range_mut(self.buf_mut(), from, to)
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Ipv4Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The fields of an IPv4 header a router builds packets from. Options and
/// fragmentation state are not represented: `emit` writes a 20-byte header
/// with MF clear and offset 0.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv4Repr {
    pub src_addr: Ipv4Addr,
    pub dst_addr: Ipv4Addr,
    pub protocol: IpProtocol,
    pub ttl: u8,
    pub dscp_ecn: u8,
    pub ident: u16,
    pub dont_frag: bool,
    /// Bytes after the header, up to `total_len` (at most 65515).
    pub payload_len: usize,
}

impl Ipv4Repr {
    /// Validates lengths (as `new_checked`) and the header checksum.
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv4Packet<T>) -> Result<Self, ParseError> {
        packet.check_len()?;
        if !packet.verify_checksum() {
            return Err(ParseError::BadChecksum);
        }
        Ok(Ipv4Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            protocol: packet.protocol(),
            ttl: packet.ttl(),
            dscp_ecn: packet.dscp_ecn(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
            payload_len: usize::from(packet.total_len()).saturating_sub(packet.header_len()),
        })
    }

    /// Bytes `emit` writes: the 20-byte header; the payload follows it.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    /// The packet's total length, header plus payload.
    pub fn total_len(&self) -> usize {
        HEADER_LEN.saturating_add(self.payload_len)
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv4Packet<T>) {
        packet.set_version(4);
        packet.set_header_len(HEADER_LEN);
        packet.set_dscp_ecn(self.dscp_ecn);
        packet.set_total_len(u16::try_from(self.total_len()).unwrap_or(u16::MAX));
        packet.set_ident(self.ident);
        field::set_u16(
            packet.buf_mut(),
            offset::FLAGS_FRAG,
            if self.dont_frag { FLAG_DONT_FRAG } else { 0 },
        );
        packet.set_ttl(self.ttl);
        packet.set_protocol(self.protocol);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
        packet.fill_checksum();
    }
}
