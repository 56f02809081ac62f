//! The four single-producer/single-consumer rings an AF_XDP socket shares
//! with the kernel (fill, completion, rx, tx), mapped into our memory.
//!
//! Each ring is an array of `size` descriptors (a power of two) plus a
//! producer and a consumer index that run freely and wrap at 2^32; the
//! slot of index `i` is `i & (size - 1)`. We keep cached copies of both
//! indices so the shared cache lines are touched once per burst, not once
//! per frame, as libxdp does.

use std::io;
use std::marker::PhantomData;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, Ordering};

/// One `mmap`ed region, unmapped on drop.
struct Mapping {
    ptr: NonNull<u8>,
    len: usize,
}

impl Mapping {
    fn new(fd: BorrowedFd<'_>, page_offset: libc::off_t, len: usize) -> io::Result<Self> {
        // SAFETY: a fresh shared mapping chosen by the kernel (addr NULL),
        // so no existing memory is replaced; the kernel checks `len` and
        // `page_offset` against the ring it allocated for this socket.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_POPULATE,
                fd.as_raw_fd(),
                page_offset,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(io::Error::last_os_error());
        }
        let ptr = NonNull::new(ptr.cast::<u8>()).ok_or_else(|| io::Error::other("mmap at 0"))?;
        Ok(Self { ptr, len })
    }
}

impl Drop for Mapping {
    fn drop(&mut self) {
        // SAFETY: `ptr`/`len` are exactly what mmap returned, and the only
        // pointers into the mapping live in the `Ring` that owns it.
        unsafe {
            libc::munmap(self.ptr.as_ptr().cast(), self.len);
        }
    }
}

/// The parts every ring has: indices, flags and descriptor array.
struct Ring<D> {
    producer: NonNull<AtomicU32>,
    consumer: NonNull<AtomicU32>,
    flags: NonNull<AtomicU32>,
    descs: NonNull<D>,
    mask: u32,
    size: u32,
    cached_prod: u32,
    cached_cons: u32,
    // Declared last so the pointers above are never dangling while the
    // struct is alive.
    _mapping: Mapping,
    _desc: PhantomData<D>,
}

// SAFETY: the mapping is owned by this ring alone and only touched through
// `&mut self` (or atomics through `&self`); moving the owner to another
// thread moves the only user along.
unsafe impl<D: Send> Send for Ring<D> {}

impl<D: Copy> Ring<D> {
    fn map(
        fd: BorrowedFd<'_>,
        offsets: &libc::xdp_ring_offset,
        size: u32,
        page_offset: libc::off_t,
    ) -> io::Result<Self> {
        if !size.is_power_of_two() {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let len = offsets.desc as usize + size as usize * size_of::<D>();
        let mapping = Mapping::new(fd, page_offset, len)?;
        let at = |offset: u64| -> io::Result<NonNull<u8>> {
            if offset as usize >= len {
                return Err(io::Error::other("ring offset outside the mapping"));
            }
            // SAFETY: `offset < len`, so the result stays inside the mapping.
            Ok(unsafe { mapping.ptr.add(offset as usize) })
        };
        let producer = at(offsets.producer)?.cast::<AtomicU32>();
        let consumer = at(offsets.consumer)?.cast::<AtomicU32>();
        let flags = at(offsets.flags)?.cast::<AtomicU32>();
        let descs = at(offsets.desc)?.cast::<D>();
        for (ptr, align) in [
            (producer.as_ptr() as usize, align_of::<AtomicU32>()),
            (consumer.as_ptr() as usize, align_of::<AtomicU32>()),
            (flags.as_ptr() as usize, align_of::<AtomicU32>()),
            (descs.as_ptr() as usize, align_of::<D>()),
        ] {
            if ptr % align != 0 {
                return Err(io::Error::other("misaligned ring field"));
            }
        }
        let mut ring = Self {
            producer,
            consumer,
            flags,
            descs,
            mask: size - 1,
            size,
            cached_prod: 0,
            cached_cons: 0,
            _mapping: mapping,
            _desc: PhantomData,
        };
        ring.cached_prod = ring.producer().load(Ordering::Acquire);
        ring.cached_cons = ring.consumer().load(Ordering::Acquire);
        Ok(ring)
    }

    fn producer(&self) -> &AtomicU32 {
        // SAFETY: points into the live mapping, aligned (checked in `map`);
        // the kernel accesses it atomically too.
        unsafe { self.producer.as_ref() }
    }

    fn consumer(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.consumer.as_ref() }
    }

    fn flags(&self) -> &AtomicU32 {
        // SAFETY: as for `producer`.
        unsafe { self.flags.as_ref() }
    }

    fn read(&self, index: u32) -> D {
        // SAFETY: `index & mask < size`, so the slot lies inside the
        // descriptor array of the mapping; the kernel published it with a
        // release store of the producer index that we acquired.
        unsafe { self.descs.add((index & self.mask) as usize).read() }
    }

    fn write(&mut self, index: u32, desc: D) {
        // SAFETY: `index & mask < size`, inside the array; the slot is
        // between the kernel's consumer and our producer, so the kernel
        // does not read it until we publish the new producer index.
        unsafe { self.descs.add((index & self.mask) as usize).write(desc) }
    }
}

/// A ring we fill and the kernel drains: fill and tx.
pub(super) struct ProducerRing<D>(Ring<D>);

impl<D: Copy> ProducerRing<D> {
    pub(super) fn map(
        fd: BorrowedFd<'_>,
        offsets: &libc::xdp_ring_offset,
        size: u32,
        page_offset: libc::off_t,
    ) -> io::Result<Self> {
        let mut ring = Ring::map(fd, offsets, size, page_offset)?;
        // Our view of the consumer runs one ring ahead, so "free slots" is
        // a plain subtraction.
        ring.cached_cons = ring.cached_cons.wrapping_add(ring.size);
        Ok(Self(ring))
    }

    /// Slots we may fill now, looking at the kernel's consumer index only
    /// when the cached view shows fewer than `wanted`.
    pub(super) fn free(&mut self, wanted: u32) -> u32 {
        let r = &mut self.0;
        let free = r.cached_cons.wrapping_sub(r.cached_prod);
        if free >= wanted {
            return free;
        }
        r.cached_cons = r.consumer().load(Ordering::Acquire).wrapping_add(r.size);
        r.cached_cons.wrapping_sub(r.cached_prod)
    }

    /// Writes one descriptor into the next slot; the kernel sees it after
    /// [`Self::submit`]. The caller has checked [`Self::free`].
    pub(super) fn push(&mut self, desc: D) {
        let index = self.0.cached_prod;
        debug_assert!(self.0.cached_cons.wrapping_sub(index) > 0);
        self.0.write(index, desc);
        self.0.cached_prod = index.wrapping_add(1);
    }

    /// Publishes what was pushed.
    pub(super) fn submit(&mut self) {
        self.0
            .producer()
            .store(self.0.cached_prod, Ordering::Release);
    }

    /// The kernel asks for a syscall before it looks at this ring again.
    pub(super) fn needs_wakeup(&self) -> bool {
        self.0.flags().load(Ordering::Relaxed) & libc::XDP_RING_NEED_WAKEUP != 0
    }

    /// Descriptors published but not yet taken by the kernel.
    pub(super) fn outstanding(&self) -> impl Iterator<Item = D> + '_ {
        let start = self.0.consumer().load(Ordering::Acquire);
        let end = self.0.cached_prod;
        (0..end.wrapping_sub(start)).map(move |i| self.0.read(start.wrapping_add(i)))
    }
}

/// A ring the kernel fills and we drain: rx and completion.
pub(super) struct ConsumerRing<D>(Ring<D>);

impl<D: Copy> ConsumerRing<D> {
    pub(super) fn map(
        fd: BorrowedFd<'_>,
        offsets: &libc::xdp_ring_offset,
        size: u32,
        page_offset: libc::off_t,
    ) -> io::Result<Self> {
        Ring::map(fd, offsets, size, page_offset).map(Self)
    }

    /// Takes the next descriptor, reading the kernel's producer index only
    /// when everything cached has been taken.
    pub(super) fn pop(&mut self) -> Option<D> {
        let r = &mut self.0;
        if r.cached_prod == r.cached_cons {
            r.cached_prod = r.producer().load(Ordering::Acquire);
            if r.cached_prod == r.cached_cons {
                return None;
            }
        }
        let desc = r.read(r.cached_cons);
        r.cached_cons = r.cached_cons.wrapping_add(1);
        Some(desc)
    }

    /// Hands the slots taken by [`Self::pop`] back to the kernel.
    pub(super) fn release(&mut self) {
        self.0
            .consumer()
            .store(self.0.cached_cons, Ordering::Release);
    }
}
