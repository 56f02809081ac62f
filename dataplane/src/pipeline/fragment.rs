//! IPv4 fragmentation (RFC 791 §3.2, RFC 1812 §5.2.6 / §4.2.2.7) for
//! packets larger than the egress MTU that do not carry DF.
//!
//! A slow path: rare on a router's own links, so it copies into fresh
//! frames rather than contorting the fast path.

use arrayvec::ArrayVec;

use crate::packet::checksum;
use crate::port::{Frame, FramePool};

/// Why a packet could not be fragmented.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FragmentError {
    /// The header is malformed (options run past the header).
    BadHeader,
    /// The MTU cannot carry the header and 8 bytes of data.
    MtuTooSmall,
    /// Not enough free frames, or more fragments than `out` can hold.
    NoBuffer,
}

/// Splits the IPv4 packet at `l3` in `frame` (bytes before `l3`, the
/// link-layer header, are copied to each fragment) into fragments of at
/// most `mtu` bytes, appended to `out`. On success the original frame is
/// left untouched (the caller frees it); on failure no fragment is left
/// allocated.
pub fn fragment_ipv4(
    pool: &mut FramePool,
    frame: Frame,
    l3: usize,
    mtu: u16,
    out: &mut Vec<Frame>,
    max_fragments: usize,
) -> Result<(), FragmentError> {
    let start = out.len();
    let result = split(pool, frame, l3, mtu, out, start + max_fragments);
    if result.is_err() {
        for f in out.drain(start..) {
            pool.free(f.addr);
        }
    }
    result
}

fn split(
    pool: &mut FramePool,
    frame: Frame,
    l3: usize,
    mtu: u16,
    out: &mut Vec<Frame>,
    limit: usize,
) -> Result<(), FragmentError> {
    let data = pool.data(frame);
    let ip = data.get(l3..).ok_or(FragmentError::BadHeader)?;
    if ip.len() < 20 {
        return Err(FragmentError::BadHeader);
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
    if ihl < 20 || total < ihl || total > ip.len() {
        return Err(FragmentError::BadHeader);
    }
    // Headers are small and bounded (≤ 60 bytes of IP header, a link
    // header of at most 64): keep them on the stack; the payload is copied
    // frame to frame inside the pool.
    let header: ArrayVec<u8, 60> = ip[..ihl].iter().copied().collect();
    let link: ArrayVec<u8, 64> = data
        .get(..l3)
        .filter(|l| l.len() <= 64)
        .ok_or(FragmentError::BadHeader)?
        .iter()
        .copied()
        .collect();
    let payload_start = l3 + ihl;
    let payload_len = total - ihl;
    let flags_offset = u16::from_be_bytes([header[6], header[7]]);
    let orig_more = flags_offset & 0x2000 != 0;
    let orig_offset = usize::from(flags_offset & 0x1fff) * 8;

    // Non-first fragments carry only the options whose "copied" bit is set
    // (RFC 791 §3.1), padded to a 4-byte boundary.
    let mut later_header: ArrayVec<u8, 60> = header[..20].iter().copied().collect();
    let mut opts = &header[20..];
    while let Some(&kind) = opts.first() {
        match kind {
            0 => break,
            1 => opts = &opts[1..],
            _ => {
                let len = usize::from(*opts.get(1).ok_or(FragmentError::BadHeader)?);
                if len < 2 || len > opts.len() {
                    return Err(FragmentError::BadHeader);
                }
                if kind & 0x80 != 0 {
                    // Cannot overflow: a subset of a ≤ 60-byte header.
                    let _ = later_header.try_extend_from_slice(&opts[..len]);
                }
                opts = &opts[len..];
            }
        }
    }
    while later_header.len() % 4 != 0 {
        later_header.push(0);
    }

    let mut offset = 0usize;
    while offset < payload_len {
        if out.len() >= limit {
            return Err(FragmentError::NoBuffer);
        }
        let hdr: &[u8] = if offset == 0 { &header } else { &later_header };
        let room = usize::from(mtu)
            .checked_sub(hdr.len())
            .filter(|r| *r >= 8)
            .ok_or(FragmentError::MtuTooSmall)?;
        let remaining = payload_len - offset;
        let last = remaining <= room;
        let chunk = if last { remaining } else { room & !7 };
        let mut frag = pool.alloc().ok_or(FragmentError::NoBuffer)?;
        let len = l3 + hdr.len() + chunk;
        let buf = pool.room_mut(frag);
        let Some(buf) = buf.get_mut(..len) else {
            pool.free(frag.addr);
            return Err(FragmentError::NoBuffer);
        };
        buf[..l3].copy_from_slice(&link);
        let h = &mut buf[l3..l3 + hdr.len()];
        h.copy_from_slice(hdr);
        h[0] = 0x40 | (hdr.len() / 4) as u8;
        h[2..4].copy_from_slice(&((hdr.len() + chunk) as u16).to_be_bytes());
        let more = !last || orig_more;
        let frag_off = (((orig_offset + offset) / 8) & 0x1fff) as u16;
        let flags = (flags_offset & 0x4000) | if more { 0x2000 } else { 0 };
        h[6..8].copy_from_slice(&(flags | frag_off).to_be_bytes());
        h[10..12].copy_from_slice(&[0, 0]);
        let csum = checksum::internet_checksum(h);
        h[10..12].copy_from_slice(&csum.to_be_bytes());
        frag.len = len as u32;
        let dst_offset = l3 + hdr.len();
        if !pool.copy_between(frame, payload_start + offset, frag, dst_offset, chunk) {
            pool.free(frag.addr);
            return Err(FragmentError::BadHeader);
        }
        out.push(frag);
        offset += chunk;
    }
    Ok(())
}
