//! TCP segment headers (RFC 9293 §3.1). The router reads ports and flags
//! (ECMP hashing, filtering) and patches checksums; it runs no TCP here.

use std::net::{Ipv4Addr, Ipv6Addr};

use super::checksum;
use super::error::ParseError;
use super::field;
use super::ip_protocol::IpProtocol;

/// Length of a header without options.
pub const HEADER_LEN: usize = 20;

mod offset {
    pub const SRC_PORT: usize = 0;
    pub const DST_PORT: usize = 2;
    pub const SEQ: usize = 4;
    pub const ACK: usize = 8;
    pub const DATA_OFFSET: usize = 12;
    pub const FLAGS: usize = 13;
    pub const WINDOW: usize = 14;
    pub const CHECKSUM: usize = 16;
    pub const URGENT: usize = 18;
}

/// The control bits of octet 13.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TcpFlags(pub u8);

impl TcpFlags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;

    pub fn fin(self) -> bool {
        self.0 & Self::FIN != 0
    }
    pub fn syn(self) -> bool {
        self.0 & Self::SYN != 0
    }
    pub fn rst(self) -> bool {
        self.0 & Self::RST != 0
    }
    pub fn psh(self) -> bool {
        self.0 & Self::PSH != 0
    }
    pub fn ack(self) -> bool {
        self.0 & Self::ACK != 0
    }
    pub fn urg(self) -> bool {
        self.0 & Self::URG != 0
    }
    pub fn ece(self) -> bool {
        self.0 & Self::ECE != 0
    }
    pub fn cwr(self) -> bool {
        self.0 & Self::CWR != 0
    }
}

/// A view of a TCP segment; the buffer is the IP payload.
#[derive(Debug, Clone, Copy)]
pub struct TcpPacket<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> TcpPacket<T> {
    pub const fn new_unchecked(buffer: T) -> Self {
        TcpPacket { buffer }
    }

    /// Requires 20 bytes, a data offset of at least 5 words, and the whole
    /// header (options included) in the buffer.
    pub fn new_checked(buffer: T) -> Result<Self, ParseError> {
        let packet = TcpPacket { buffer };
        let len = packet.buf().len();
        if len < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let header_len = packet.header_len();
        if header_len < HEADER_LEN {
            return Err(ParseError::BadHeaderLen);
        }
        if header_len > len {
            return Err(ParseError::Truncated);
        }
        Ok(packet)
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

    pub fn seq_number(&self) -> u32 {
        field::u32_at(self.buf(), offset::SEQ)
    }

    pub fn ack_number(&self) -> u32 {
        field::u32_at(self.buf(), offset::ACK)
    }

    /// Header length in bytes (data offset × 4).
    pub fn header_len(&self) -> usize {
        usize::from(field::u8_at(self.buf(), offset::DATA_OFFSET) >> 4) * 4
    }

    pub fn flags(&self) -> TcpFlags {
        TcpFlags(field::u8_at(self.buf(), offset::FLAGS))
    }

    pub fn fin(&self) -> bool {
        self.flags().fin()
    }
    pub fn syn(&self) -> bool {
        self.flags().syn()
    }
    pub fn rst(&self) -> bool {
        self.flags().rst()
    }
    pub fn psh(&self) -> bool {
        self.flags().psh()
    }
    pub fn ack(&self) -> bool {
        self.flags().ack()
    }
    pub fn urg(&self) -> bool {
        self.flags().urg()
    }

    pub fn window_len(&self) -> u16 {
        field::u16_at(self.buf(), offset::WINDOW)
    }

    pub fn checksum(&self) -> u16 {
        field::u16_at(self.buf(), offset::CHECKSUM)
    }

    pub fn urgent_at(&self) -> u16 {
        field::u16_at(self.buf(), offset::URGENT)
    }

    pub fn options(&self) -> &[u8] {
        field::range(self.buf(), HEADER_LEN, self.header_len())
    }

    pub fn payload(&self) -> &[u8] {
        let header_len = self.header_len().max(HEADER_LEN);
        field::tail(self.buf(), header_len)
    }

    fn segment_len(&self) -> u32 {
        u32::try_from(self.buf().len()).unwrap_or(u32::MAX)
    }

    /// The checksum covers the pseudo-header and the whole buffer, which
    /// must therefore be exactly the segment.
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        let pseudo =
            checksum::pseudo_header_v4(src, dst, IpProtocol::Tcp.into(), self.segment_len());
        self.buf().len() >= HEADER_LEN
            && checksum::fold(pseudo + checksum::sum(self.buf())) == 0xffff
    }

    pub fn verify_checksum_v6(&self, src: &Ipv6Addr, dst: &Ipv6Addr) -> bool {
        let pseudo =
            checksum::pseudo_header_v6(src, dst, IpProtocol::Tcp.into(), self.segment_len());
        self.buf().len() >= HEADER_LEN
            && checksum::fold(pseudo + checksum::sum(self.buf())) == 0xffff
    }
}

impl<'a, T: AsRef<[u8]> + ?Sized> TcpPacket<&'a T> {
    /// The payload with the lifetime of the underlying buffer.
    pub fn into_payload(self) -> &'a [u8] {
        let buf: &'a [u8] = self.buffer.as_ref();
        field::tail(buf, self.header_len().max(HEADER_LEN))
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> TcpPacket<T> {
    fn buf_mut(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    pub fn set_src_port(&mut self, port: u16) {
        field::set_u16(self.buf_mut(), offset::SRC_PORT, port);
    }

    pub fn set_dst_port(&mut self, port: u16) {
        field::set_u16(self.buf_mut(), offset::DST_PORT, port);
    }

    pub fn set_seq_number(&mut self, value: u32) {
        field::set_u32(self.buf_mut(), offset::SEQ, value);
    }

    pub fn set_ack_number(&mut self, value: u32) {
        field::set_u32(self.buf_mut(), offset::ACK, value);
    }

    /// Sets the data offset from a length in bytes (multiple of 4, ≤ 60).
    pub fn set_header_len(&mut self, len: usize) {
        let words = ((len / 4) & 0x0f) as u8;
        let b = field::u8_at(self.buf(), offset::DATA_OFFSET);
        field::set_u8(
            self.buf_mut(),
            offset::DATA_OFFSET,
            (b & 0x0f) | (words << 4),
        );
    }

    pub fn set_flags(&mut self, flags: TcpFlags) {
        field::set_u8(self.buf_mut(), offset::FLAGS, flags.0);
    }

    pub fn set_window_len(&mut self, value: u16) {
        field::set_u16(self.buf_mut(), offset::WINDOW, value);
    }

    pub fn set_checksum(&mut self, value: u16) {
        field::set_u16(self.buf_mut(), offset::CHECKSUM, value);
    }

    pub fn set_urgent_at(&mut self, value: u16) {
        field::set_u16(self.buf_mut(), offset::URGENT, value);
    }

    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let pseudo =
            checksum::pseudo_header_v4(src, dst, IpProtocol::Tcp.into(), self.segment_len());
        let value = !checksum::fold(pseudo + checksum::sum(self.buf()));
        self.set_checksum(value);
    }

    pub fn fill_checksum_v6(&mut self, src: &Ipv6Addr, dst: &Ipv6Addr) {
        self.set_checksum(0);
        let pseudo =
            checksum::pseudo_header_v6(src, dst, IpProtocol::Tcp.into(), self.segment_len());
        let value = !checksum::fold(pseudo + checksum::sum(self.buf()));
        self.set_checksum(value);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for TcpPacket<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}
