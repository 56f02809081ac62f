//! Bounds-checked big-endian access to wire fields.
//!
//! Every view reads its fields through these functions so that an accessor
//! on a short buffer (one made with `new_unchecked`, or one a fuzzer hands
//! in) yields zero instead of panicking, and a setter on a short buffer
//! writes nothing. `new_checked` guarantees the fields are present, so on
//! validated views the fallbacks are never taken.

pub(crate) fn u8_at(buf: &[u8], at: usize) -> u8 {
    buf.get(at).copied().unwrap_or(0)
}

pub(crate) fn u16_at(buf: &[u8], at: usize) -> u16 {
    match buf.get(at..).and_then(<[u8]>::first_chunk::<2>) {
        Some(b) => u16::from_be_bytes(*b),
        None => 0,
    }
}

pub(crate) fn u32_at(buf: &[u8], at: usize) -> u32 {
    match buf.get(at..).and_then(<[u8]>::first_chunk::<4>) {
        Some(b) => u32::from_be_bytes(*b),
        None => 0,
    }
}

pub(crate) fn array_at<const N: usize>(buf: &[u8], at: usize) -> [u8; N] {
    match buf.get(at..).and_then(<[u8]>::first_chunk::<N>) {
        Some(b) => *b,
        None => [0; N],
    }
}

/// `buf[from..]`, or empty when `from` is past the end.
pub(crate) fn tail(buf: &[u8], from: usize) -> &[u8] {
    buf.get(from..).unwrap_or(&[])
}

/// `buf[from..to]` clamped to the buffer, empty when the range is inverted.
pub(crate) fn range(buf: &[u8], from: usize, to: usize) -> &[u8] {
    let to = to.min(buf.len());
    buf.get(from..to).unwrap_or(&[])
}

pub(crate) fn range_mut(buf: &mut [u8], from: usize, to: usize) -> &mut [u8] {
    let to = to.min(buf.len());
    buf.get_mut(from..to).unwrap_or(&mut [])
}

pub(crate) fn set_u8(buf: &mut [u8], at: usize, value: u8) {
    if let Some(b) = buf.get_mut(at) {
        *b = value;
    }
}

pub(crate) fn set_u16(buf: &mut [u8], at: usize, value: u16) {
    set_array(buf, at, value.to_be_bytes());
}

pub(crate) fn set_u32(buf: &mut [u8], at: usize, value: u32) {
    set_array(buf, at, value.to_be_bytes());
}

pub(crate) fn set_array<const N: usize>(buf: &mut [u8], at: usize, value: [u8; N]) {
    if let Some(b) = buf.get_mut(at..).and_then(<[u8]>::first_chunk_mut::<N>) {
        *b = value;
    }
}
