//! Scrape buffers shared through a small lock-free pool, and the response body that lends one.
//!
//! A scrape renders into a [`Buffers`] taken from the pool and hands it to hyper as the
//! body's only chunk; when hyper has written the chunk and drops it, the buffers go back to
//! the pool with their capacity. Taking and returning are one atomic swap or compare-exchange
//! per spare place, so nothing ever waits: if every place is empty (more concurrent scrapes
//! than places) a new `Buffers` is allocated, and if every place is full on return the extra
//! one is freed. Once the pool holds as many buffers as there are concurrent scrapes, and they have
//! grown to the size of an exposition, scrapes allocate nothing here.

use std::pin::Pin;
use std::ptr;
use std::sync::Arc;
use std::sync::atomic::{AtomicPtr, Ordering};
use std::task::{Context, Poll};

use bytes::Buf;
use http_body::{Body, Frame, SizeHint};

use super::gzip::Gzip;

/// How many idle buffers the pool keeps.
const SPARES: usize = 8;

/// What one scrape needs: the exposition, its gzip encoding and the compressor.
#[derive(Debug)]
pub(crate) struct Buffers {
    pub(crate) plain: Vec<u8>,
    pub(crate) compressed: Vec<u8>,
    pub(crate) gzip: Option<Gzip>,
    /// Whether the body is `compressed` rather than `plain`.
    pub(crate) send_compressed: bool,
}

/// The pool; see the module docs.
#[derive(Debug)]
pub(crate) struct Pool {
    spares: [AtomicPtr<Buffers>; SPARES],
}

impl Pool {
    pub(crate) fn new() -> Self {
        Pool {
            spares: std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut())),
        }
    }

    /// An idle `Buffers`, or a new one when none is idle.
    pub(crate) fn take(&self) -> Box<Buffers> {
        for spare in &self.spares {
            if spare.load(Ordering::Relaxed).is_null() {
                continue;
            }
            // Acquire pairs with the release in `give_back`: the buffers' contents written by
            // the previous user are visible before this thread reuses them.
            let taken = spare.swap(ptr::null_mut(), Ordering::Acquire);
            if !taken.is_null() {
                // SAFETY: non-null spare pointers come from `Box::into_raw` in `give_back`, and
                // the swap gave this thread the only copy of the pointer.
                return unsafe { Box::from_raw(taken) };
            }
        }
        Box::new(Buffers {
            plain: Vec::new(),
            compressed: Vec::new(),
            gzip: None,
            send_compressed: false,
        })
    }

    /// Puts `buffers` back into an empty spare place, or frees them if there is none.
    pub(crate) fn give_back(&self, buffers: Box<Buffers>) {
        let raw = Box::into_raw(buffers);
        for spare in &self.spares {
            // Release publishes the buffers to the acquire swap in `take`.
            if spare
                .compare_exchange(ptr::null_mut(), raw, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
        // SAFETY: `raw` came from `Box::into_raw` above and was not stored in any spare place.
        drop(unsafe { Box::from_raw(raw) });
    }
}

impl Drop for Pool {
    fn drop(&mut self) {
        for spare in &mut self.spares {
            let raw = std::mem::replace(spare.get_mut(), ptr::null_mut());
            if !raw.is_null() {
                // SAFETY: `&mut self` means no other thread uses the pool; the pointer came
                // from `Box::into_raw` in `give_back` and is owned by the pool.
                drop(unsafe { Box::from_raw(raw) });
            }
        }
    }
}

/// Something that owns a [`Pool`] (the exporter's shared state).
pub(crate) trait HasPool: Send + Sync + 'static {
    fn pool(&self) -> &Pool;
}

/// A response body: fixed bytes, or one pooled exposition.
///
/// Its data chunks are an unnameable type (only `bytes::Buf` is promised):
///
/// ```compile_fail,E0432
/// use promstatic::exporter::Chunk;
/// ```
#[derive(Debug)]
pub struct ExporterBody {
    chunk: Option<Chunk>,
}

impl ExporterBody {
    pub(crate) fn fixed(bytes: &'static [u8]) -> Self {
        ExporterBody {
            chunk: (!bytes.is_empty()).then_some(Chunk(ChunkBytes::Fixed(bytes))),
        }
    }

    pub(crate) fn empty() -> Self {
        ExporterBody { chunk: None }
    }

    pub(crate) fn pooled(buffers: Box<Buffers>, owner: Arc<dyn HasPool>) -> Self {
        ExporterBody {
            chunk: Some(Chunk(ChunkBytes::Pooled(Pooled {
                buffers: Some(buffers),
                position: 0,
                owner,
            }))),
        }
    }
}

impl Body for ExporterBody {
    type Data = Chunk;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Chunk>, Self::Error>>> {
        Poll::Ready(
            self.get_mut()
                .chunk
                .take()
                .map(|chunk| Ok(Frame::data(chunk))),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.chunk.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(
            self.chunk
                .as_ref()
                .map_or(0, |chunk| chunk.remaining() as u64),
        )
    }
}

/// The one chunk of an [`ExporterBody`] (its `Body::Data`); returns pooled buffers to their
/// pool when dropped.
///
/// Public only because it is the body's associated data type: it lives in a private module
/// and is not re-exported, so it cannot be named, and its variants are private.
#[derive(Debug)]
pub struct Chunk(ChunkBytes);

#[derive(Debug)]
enum ChunkBytes {
    /// Bytes that live for the whole program (index page, health, errors).
    Fixed(&'static [u8]),
    /// An exposition in pooled buffers.
    Pooled(Pooled),
}

/// The pooled variant of a [`Chunk`].
struct Pooled {
    buffers: Option<Box<Buffers>>,
    position: usize,
    owner: Arc<dyn HasPool>,
}

impl std::fmt::Debug for Pooled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pooled")
            .field("position", &self.position)
            .finish_non_exhaustive()
    }
}

impl Pooled {
    fn bytes(&self) -> &[u8] {
        match &self.buffers {
            Some(buffers) if buffers.send_compressed => &buffers.compressed,
            Some(buffers) => &buffers.plain,
            None => &[],
        }
    }
}

impl Drop for Pooled {
    fn drop(&mut self) {
        if let Some(buffers) = self.buffers.take() {
            self.owner.pool().give_back(buffers);
        }
    }
}

impl Buf for Chunk {
    fn remaining(&self) -> usize {
        match &self.0 {
            ChunkBytes::Fixed(bytes) => bytes.len(),
            ChunkBytes::Pooled(pooled) => pooled.bytes().len() - pooled.position,
        }
    }

    fn chunk(&self) -> &[u8] {
        match &self.0 {
            ChunkBytes::Fixed(bytes) => bytes,
            ChunkBytes::Pooled(pooled) => pooled.bytes().get(pooled.position..).unwrap_or_default(),
        }
    }

    fn advance(&mut self, count: usize) {
        match &mut self.0 {
            ChunkBytes::Fixed(bytes) => *bytes = bytes.get(count..).unwrap_or_default(),
            ChunkBytes::Pooled(pooled) => {
                pooled.position = (pooled.position + count).min(pooled.bytes().len());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buffers_come_back_with_their_capacity() {
        let pool = Pool::new();
        let mut first = pool.take();
        first.plain.reserve(4096);
        let address = first.plain.as_ptr();
        pool.give_back(first);
        let again = pool.take();
        assert_eq!(again.plain.as_ptr(), address);
        assert!(again.plain.capacity() >= 4096);
    }

    #[test]
    fn overflow_is_freed_and_empty_pool_allocates() {
        let pool = Pool::new();
        let many: Vec<_> = (0..SPARES + 3).map(|_| pool.take()).collect();
        for buffers in many {
            pool.give_back(buffers);
        }
        let held = pool
            .spares
            .iter()
            .filter(|spare| !spare.load(Ordering::Relaxed).is_null());
        assert_eq!(held.count(), SPARES);
    }
}
