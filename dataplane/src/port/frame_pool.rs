//! A pool of fixed-size packet buffers in one contiguous, page-aligned
//! region: the UMEM of AF_XDP, and the heap arena of the in-memory backend.

use crate::huge_page_memory::HugePageMemory;

/// Bytes reserved in front of every frame, so a header can be pushed
/// (an 802.1Q tag, an encapsulation) without moving the packet.
pub const HEADROOM: u32 = 256;

const PAGE: usize = 4096;

/// A handle to one packet in a [`FramePool`]: where its first byte is and
/// how long it is. Copying a handle does not copy the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    /// Byte offset of the packet's first byte from the start of the region
    /// (the same meaning as an AF_XDP descriptor's `addr`).
    pub addr: u64,
    /// Length of the packet in bytes.
    pub len: u32,
}

/// Fixed-size frames carved out of one page-aligned region.
pub struct FramePool {
    /// On huge pages when large: the pipeline touches a different frame
    /// with nearly every packet.
    region: HugePageMemory,
    /// Offset of the first page-aligned byte inside `region`.
    base: usize,
    frame_size: u32,
    frame_count: u32,
    free: Vec<u64>,
}

/// Why a pool could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramePoolError {
    /// `frame_size` must be a power of two between 2048 and 4096 (what
    /// AF_XDP accepts in aligned mode) and larger than the headroom.
    BadFrameSize(u32),
    /// Zero frames, or more than fit in memory addressable here.
    BadFrameCount(u32),
}

impl std::fmt::Display for FramePoolError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::BadFrameSize(s) => write!(
                f,
                "frame size {s} is not a power of two between 2048 and 4096"
            ),
            Self::BadFrameCount(n) => write!(f, "frame count {n} is out of range"),
        }
    }
}

impl std::error::Error for FramePoolError {}

impl FramePool {
    /// Makes a pool of `frame_count` frames of `frame_size` bytes each.
    pub fn new(frame_count: u32, frame_size: u32) -> Result<Self, FramePoolError> {
        if !frame_size.is_power_of_two() || !(2048..=4096).contains(&frame_size) {
            return Err(FramePoolError::BadFrameSize(frame_size));
        }
        if frame_count == 0 || frame_count > (1 << 22) {
            return Err(FramePoolError::BadFrameCount(frame_count));
        }
        let bytes = frame_count as usize * frame_size as usize;
        // Over-allocate by a page so the usable region can start on a page
        // boundary, as the kernel requires of a UMEM.
        let region = HugePageMemory::zeroed(bytes + PAGE);
        let misalign = region.as_ptr() as usize % PAGE;
        let base = if misalign == 0 { 0 } else { PAGE - misalign };
        let free = (0..frame_count as u64)
            .rev()
            .map(|i| i * frame_size as u64)
            .collect();
        Ok(Self {
            region,
            base,
            frame_size,
            frame_count,
            free,
        })
    }

    pub fn frame_size(&self) -> u32 {
        self.frame_size
    }

    pub fn frame_count(&self) -> u32 {
        self.frame_count
    }

    /// Frames not currently handed out.
    pub fn available(&self) -> usize {
        self.free.len()
    }

    /// The most bytes one frame can hold after the headroom.
    pub fn max_len(&self) -> u32 {
        self.frame_size - HEADROOM
    }

    /// Takes a free frame (length 0, data starting after the headroom).
    #[inline]
    pub fn alloc(&mut self) -> Option<Frame> {
        self.free.pop().map(|chunk| Frame {
            addr: chunk + HEADROOM as u64,
            len: 0,
        })
    }

    /// Takes a free chunk without headroom, for backends (AF_XDP's fill
    /// ring) that hand whole chunks to the kernel.
    #[inline]
    pub fn alloc_chunk(&mut self) -> Option<u64> {
        self.free.pop()
    }

    /// Returns a frame (or any address inside its chunk) to the pool.
    #[inline]
    pub fn free(&mut self, addr: u64) {
        let chunk = addr & !(self.frame_size as u64 - 1);
        debug_assert!(chunk < self.frame_count as u64 * self.frame_size as u64);
        debug_assert!(self.free.len() < self.frame_count as usize);
        self.free.push(chunk);
    }

    /// The bytes of `frame`. A handle that does not lie inside the pool
    /// yields an empty slice rather than a panic.
    #[inline]
    pub fn data(&self, frame: Frame) -> &[u8] {
        let (start, end) = self.span(frame);
        self.region.get(start..end).unwrap_or(&[])
    }

    /// The bytes of `frame`, writable.
    #[inline]
    pub fn data_mut(&mut self, frame: Frame) -> &mut [u8] {
        let (start, end) = self.span(frame);
        self.region.get_mut(start..end).unwrap_or(&mut [])
    }

    /// The whole writable space of `frame`'s chunk from its first byte:
    /// what a writer may fill before setting `frame.len`.
    #[inline]
    pub fn room_mut(&mut self, frame: Frame) -> &mut [u8] {
        let chunk_end = (frame.addr | (self.frame_size as u64 - 1)) + 1;
        let start = self.base.saturating_add(frame.addr as usize);
        let end = self.base.saturating_add(chunk_end as usize);
        self.region.get_mut(start..end).unwrap_or(&mut [])
    }

    /// Copies `bytes` into a fresh frame. `None` when the pool is empty or
    /// the bytes do not fit.
    pub fn alloc_copy(&mut self, bytes: &[u8]) -> Option<Frame> {
        if bytes.len() > self.max_len() as usize {
            return None;
        }
        let mut frame = self.alloc()?;
        frame.len = bytes.len() as u32;
        self.data_mut(frame).copy_from_slice(bytes);
        Some(frame)
    }

    /// Copies `len` bytes from `src_frame`'s byte `src_offset` into
    /// `dst_frame`'s writable space at `dst_offset`. `false` (nothing
    /// copied) if either range leaves its frame.
    pub fn copy_between(
        &mut self,
        src_frame: Frame,
        src_offset: usize,
        dst_frame: Frame,
        dst_offset: usize,
        len: usize,
    ) -> bool {
        let (src_start, src_end) = self.span(src_frame);
        let src_from = src_start.saturating_add(src_offset);
        let src_to = src_from.saturating_add(len);
        let dst_chunk_end = self
            .base
            .saturating_add(((dst_frame.addr | (self.frame_size as u64 - 1)) + 1) as usize);
        let dst_from = self
            .base
            .saturating_add(dst_frame.addr as usize)
            .saturating_add(dst_offset);
        let dst_to = dst_from.saturating_add(len);
        if src_to > src_end || dst_to > dst_chunk_end || dst_to > self.region.len() {
            return false;
        }
        self.region.copy_within(src_from..src_to, dst_from);
        true
    }

    /// Start and length of the page-aligned region, for registering it with
    /// the kernel as a UMEM. The pool must outlive every socket using it.
    pub fn region_mut(&mut self) -> (*mut u8, usize) {
        let len = self.frame_count as usize * self.frame_size as usize;
        (self.region[self.base..].as_mut_ptr(), len)
    }

    #[inline]
    fn span(&self, frame: Frame) -> (usize, usize) {
        // Saturating: a forged handle must give an empty slice, not a panic.
        let start = self.base.saturating_add(frame.addr as usize);
        (start, start.saturating_add(frame.len as usize))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_are_distinct_and_return() {
        let mut pool = FramePool::new(4, 2048).unwrap();
        let a = pool.alloc_copy(&[1, 2, 3]).unwrap();
        let b = pool.alloc_copy(&[4, 5]).unwrap();
        assert_eq!(pool.data(a), &[1, 2, 3]);
        assert_eq!(pool.data(b), &[4, 5]);
        assert_eq!(pool.available(), 2);
        pool.free(a.addr);
        pool.free(b.addr);
        assert_eq!(pool.available(), 4);
    }

    #[test]
    fn region_is_page_aligned() {
        let mut pool = FramePool::new(8, 4096).unwrap();
        let (ptr, len) = pool.region_mut();
        assert_eq!(ptr as usize % PAGE, 0);
        assert_eq!(len, 8 * 4096);
    }

    #[test]
    fn bad_sizes_are_refused() {
        assert!(FramePool::new(4, 1000).is_err());
        assert!(FramePool::new(4, 8192).is_err());
        assert!(FramePool::new(0, 2048).is_err());
    }

    #[test]
    fn too_large_copy_is_refused() {
        let mut pool = FramePool::new(1, 2048).unwrap();
        assert!(pool.alloc_copy(&[0; 2048]).is_none());
        assert_eq!(pool.available(), 1);
    }

    #[test]
    fn foreign_handle_yields_empty_slice() {
        let pool = FramePool::new(1, 2048).unwrap();
        let bogus = Frame {
            addr: 1 << 40,
            len: 64,
        };
        assert!(pool.data(bogus).is_empty());
    }
}
