//! IPv6 headers (RFC 8200).

mod extension;

use std::net::Ipv6Addr;

pub use extension::{FragmentInfo, MAX_EXTENSION_HEADERS, UpperLayer};

use super::error::ParseError;
use super::field;
use super::ip_protocol::IpProtocol;

pub const HEADER_LEN: usize = 40;

mod offset {
    pub const VER_TC_FLOW: usize = 0;
    pub const PAYLOAD_LEN: usize = 4;
    pub const NEXT_HEADER: usize = 6;
    pub const HOP_LIMIT: usize = 7;
    pub const SRC: usize = 8;
    pub const DST: usize = 24;
}

/// A view of an IPv6 packet.
#[derive(Debug, Clone, Copy)]
pub struct Ipv6Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Ipv6Packet<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        Ipv6Packet { buffer }
    }

    /// Validates the version and that the payload length fits the buffer;
    /// bytes after it (Ethernet padding) are allowed.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let packet = Ipv6Packet { buffer };
        packet.check_len()?;
        Ok(packet)
    }

    fn check_len(&self) -> Result<(), ParseError> {
        let len = self.buf().len();
        if len < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        if self.version() != 6 {
            return Err(ParseError::BadVersion);
        }
        if HEADER_LEN + usize::from(self.payload_len()) > len {
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

    fn first_word(&self) -> u32 {
        field::u32_at(self.buf(), offset::VER_TC_FLOW)
    }

    pub fn version(&self) -> u8 {
        (self.first_word() >> 28) as u8
    }

    pub fn traffic_class(&self) -> u8 {
        (self.first_word() >> 20) as u8
    }

    /// The 20-bit flow label.
    pub fn flow_label(&self) -> u32 {
        self.first_word() & 0x000f_ffff
    }

    pub fn payload_len(&self) -> u16 {
        field::u16_at(self.buf(), offset::PAYLOAD_LEN)
    }

    pub fn next_header(&self) -> IpProtocol {
        IpProtocol::from(field::u8_at(self.buf(), offset::NEXT_HEADER))
    }

    pub fn hop_limit(&self) -> u8 {
        field::u8_at(self.buf(), offset::HOP_LIMIT)
    }

    pub fn src_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(field::array_at::<16>(self.buf(), offset::SRC))
    }

    pub fn dst_addr(&self) -> Ipv6Addr {
        Ipv6Addr::from(field::array_at::<16>(self.buf(), offset::DST))
    }

    fn payload_end(&self) -> usize {
        HEADER_LEN + usize::from(self.payload_len())
    }

    /// Bytes 40..40+payload_len: extension headers and upper layer,
    /// without link-layer padding.
    pub fn payload(&self) -> &[u8] {
        field::range(self.buf(), HEADER_LEN, self.payload_end())
    }

    /// Follows Hop-by-Hop, Routing, Fragment, Destination Options and AH
    /// headers to the first header that is none of these.
    pub fn upper_layer(&self) -> Result<UpperLayer, ParseError> {
        if self.buf().len() < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let end = self.payload_end().min(self.buf().len());
        extension::walk(self.buf(), self.next_header(), end)
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> Ipv6Packet<&'a T> {
    /// The payload with the lifetime of the underlying buffer.
    pub fn into_payload(self) -> &'a [u8] {
        let buf: &'a [u8] = self.buffer.as_ref();
        field::range(buf, HEADER_LEN, self.payload_end())
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Ipv6Packet<T> {
    fn buf_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    fn set_first_word(&mut self, word: u32) {
        field::set_u32(self.buf_mut(), offset::VER_TC_FLOW, word);
    }

    pub fn set_version(&mut self, version: u8) {
        let word = (self.first_word() & 0x0fff_ffff) | (u32::from(version & 0x0f) << 28);
        self.set_first_word(word);
    }

    pub fn set_traffic_class(&mut self, tc: u8) {
        let word = (self.first_word() & 0xf00f_ffff) | (u32::from(tc) << 20);
        self.set_first_word(word);
    }

    pub fn set_flow_label(&mut self, label: u32) {
        let word = (self.first_word() & 0xfff0_0000) | (label & 0x000f_ffff);
        self.set_first_word(word);
    }

    pub fn set_payload_len(&mut self, len: u16) {
        field::set_u16(self.buf_mut(), offset::PAYLOAD_LEN, len);
    }

    pub fn set_next_header(&mut self, next_header: IpProtocol) {
        field::set_u8(self.buf_mut(), offset::NEXT_HEADER, next_header.into());
    }

    pub fn set_hop_limit(&mut self, hop_limit: u8) {
        field::set_u8(self.buf_mut(), offset::HOP_LIMIT, hop_limit);
    }

    /// Decrements the hop limit (IPv6 has no header checksum to patch) and
    /// returns the new value; 0 stays 0.
    pub fn decrement_hop_limit(&mut self) -> u8 {
        let hop_limit = self.hop_limit().saturating_sub(1);
        self.set_hop_limit(hop_limit);
        hop_limit
    }

    pub fn set_src_addr(&mut self, addr: Ipv6Addr) {
        field::set_array(self.buf_mut(), offset::SRC, addr.octets());
    }

    pub fn set_dst_addr(&mut self, addr: Ipv6Addr) {
        field::set_array(self.buf_mut(), offset::DST, addr.octets());
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.payload_end();
        field::range_mut(self.buf_mut(), HEADER_LEN, end)
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Ipv6Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// The fixed IPv6 header's fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Repr {
    pub src_addr: Ipv6Addr,
    pub dst_addr: Ipv6Addr,
    pub next_header: IpProtocol,
    /// Bytes after the fixed header, extension headers included.
    pub payload_len: u16,
    pub hop_limit: u8,
    pub traffic_class: u8,
    /// The low 20 bits are used.
    pub flow_label: u32,
}

impl Ipv6Repr {
    pub fn parse<T: AsRef<[u8]>>(packet: &Ipv6Packet<T>) -> Result<Self, ParseError> {
        packet.check_len()?;
        Ok(Ipv6Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: packet.payload_len(),
            hop_limit: packet.hop_limit(),
            traffic_class: packet.traffic_class(),
            flow_label: packet.flow_label(),
        })
    }

    /// Bytes `emit` writes: the fixed header; the payload follows it.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Ipv6Packet<T>) {
        packet.set_first_word(0x6000_0000);
        packet.set_traffic_class(self.traffic_class);
        packet.set_flow_label(self.flow_label);
        packet.set_payload_len(self.payload_len);
        packet.set_next_header(self.next_header);
        packet.set_hop_limit(self.hop_limit);
        packet.set_src_addr(self.src_addr);
        packet.set_dst_addr(self.dst_addr);
    }
}
