//! UDP datagrams (RFC 768), with the IPv6 checksum rule of RFC 8200 §8.1.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::error::ParseError;
use super::field;
use super::ip_protocol::IpProtocol;

pub const HEADER_LEN: usize = 8;

mod offset {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const LENGTH: usize = 4;
    pub const CHECKSUM: usize = 6;
}

/// A view of a UDP datagram; the buffer is the IP payload.
#[derive(Debug, Clone, Copy)]
pub struct UdpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> UdpPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        UdpPacket { buffer }
    }

    /// Requires the 8-byte header and a length field between 8 and the
    /// buffer length.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let packet = UdpPacket { buffer };
        packet.check_len()?;
        Ok(packet)
    }

    fn check_len(&self) -> Result<(), ParseError> {
        let len = self.buf().len();
        if len < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let field_len = usize::from(self.len());
        if field_len < HEADER_LEN {
            return Err(ParseError::BadLength);
        }
        if field_len > len {
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

    pub fn src_port(&self) -> u16 {
        field::u16_at(self.buf(), offset::SRC_PORT)
    }

    pub fn dst_port(&self) -> u16 {
        field::u16_at(self.buf(), offset::DST_PORT)
    }

    /// The length field: header plus payload.
    pub fn len(&self) -> u16 {
        field::u16_at(self.buf(), offset::LENGTH)
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        usize::from(self.len()) <= HEADER_LEN
    }

    pub fn checksum(&self) -> u16 {
        field::u16_at(self.buf(), offset::CHECKSUM)
    }

    /// Bytes 8..len.
    pub fn payload(&self) -> &[u8] {
        field::range(self.buf(), HEADER_LEN, usize::from(self.len()))
    }

    /// The datagram as the length field delimits it.
    fn datagram(&self) -> &[u8] {
        field::range(self.buf(), 0, usize::from(self.len()))
    }

    fn sum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u32 {
        let datagram = self.datagram();
        let len = datagram.len() as u32;
        checksum::pseudo_header_v4(src, dst, IpProtocol::Udp.into(), len) + checksum::sum(datagram)
    }

    fn sum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> u32 {
        let datagram = self.datagram();
        let len = datagram.len() as u32;
        checksum::pseudo_header_v6(src, dst, IpProtocol::Udp.into(), len) + checksum::sum(datagram)
    }

    /// A zero checksum means the sender computed none (RFC 768), which
    /// IPv4 allows.
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.check_len().is_err() {
            return false;
        }
        self.checksum() == 0 || checksum::fold(self.sum_v4(src, dst)) == 0xffff
    }

    /// Over IPv6 the checksum is mandatory: zero is invalid (RFC 8200 §8.1).
    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        if self.check_len().is_err() {
            return false;
        }
        self.checksum() != 0 && checksum::fold(self.sum_v6(src, dst)) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> UdpPacket<&'a T> {
    /// The payload with the lifetime of the underlying buffer.
    pub fn into_payload(self) -> &'a [u8] {
        let buf: &'a [u8] = self.buffer.as_ref();
        field::range(buf, HEADER_LEN, usize::from(self.len()))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> UdpPacket<T> {
    fn buf_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    pub fn set_src_port(&mut self, port: u16) {
        field::set_u16(self.buf_mut(), offset::SRC_PORT, port);
    }

    pub fn set_dst_port(&mut self, port: u16) {
        field::set_u16(self.buf_mut(), offset::DST_PORT, port);
    }

    pub fn set_len(&mut self, len: u16) {
        field::set_u16(self.buf_mut(), offset::LENGTH, len);
    }

    pub fn set_checksum(&mut self, value: u16) {
        field::set_u16(self.buf_mut(), offset::CHECKSUM, value);
    }

    pub fn payload_mut(&mut self) -> &mut [u8] {
        let len = usize::from(self.len());
        field::range_mut(self.buf_mut(), HEADER_LEN, len)
    }

    /// A computed checksum of zero goes out as 0xFFFF, since zero on the
    /// wire means "no checksum" (RFC 768).
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let value = !checksum::fold(self.sum_v4(src, dst));
        self.set_checksum(if value == 0 { 0xffff } else { value });
    }

    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let value = !checksum::fold(self.sum_v6(src, dst));
        self.set_checksum(if value == 0 { 0xffff } else { value });
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for UdpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// A UDP header. The checksum needs the IP addresses, so `parse` does not
/// verify it and `emit` writes zero: call `verify_checksum_v4/_v6` and
/// `fill_checksum_v4/_v6` (after writing the payload) on the view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UdpRepr {
    pub src_port: u16,
    pub dst_port: u16,
    /// Bytes after the header (at most 65527).
    pub payload_len: u16,
}

impl UdpRepr {
    pub fn parse<T: AsRef<[u8]>>(packet: &UdpPacket<T>) -> Result<Self, ParseError> {
        packet.check_len()?;
        Ok(UdpRepr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            payload_len: packet.len().saturating_sub(HEADER_LEN as u16),
        })
    }

    /// Bytes `emit` writes: the header; the payload follows it.
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN
    }

    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut UdpPacket<T>) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len(self.payload_len.saturating_add(HEADER_LEN as u16));
        packet.set_checksum(0);
    }
}
