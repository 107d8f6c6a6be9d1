//! gzip framing (RFC 1952) around a reusable raw-deflate compressor.
//!
//! `flate2::write::GzEncoder` builds a fresh compressor (tens of kilobytes of tables) for every
//! body. Here the compressor lives in the pooled scrape buffers and is `reset` between bodies,
//! so a warm scrape compresses without touching the heap.

use flate2::{Compress, Compression, Crc, FlushCompress, Status};

/// The fixed 10-byte member header: magic, deflate, no flags, no mtime, no extra flags,
/// OS "unknown" (the body is the same on every OS).
const HEADER: [u8; 10] = [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];

/// A raw deflate compressor kept across bodies.
#[derive(Debug)]
pub(crate) struct Gzip {
    compress: Compress,
}

impl Gzip {
    pub(crate) fn new() -> Self {
        // Level 1: exposition text shrinks ~8x even at the fastest level; CPU on the scrape
        // path matters more than the last few percent of bytes.
        Gzip {
            compress: Compress::new(Compression::fast(), false),
        }
    }

    /// Replaces `out` with the gzip encoding of `input`. On error `out` is left unspecified
    /// and the caller sends `input` uncompressed.
    pub(crate) fn encode(
        &mut self,
        input: &[u8],
        out: &mut Vec<u8>,
    ) -> Result<(), flate2::CompressError> {
        self.compress.reset();
        out.clear();
        out.extend_from_slice(&HEADER);
        loop {
            // `compress_vec` only writes into spare capacity.
            if out.capacity() - out.len() < 256 {
                out.reserve(input.len() / 4 + 256);
            }
            let consumed = usize::try_from(self.compress.total_in()).unwrap_or(usize::MAX);
            let rest = input.get(consumed..).unwrap_or_default();
            if self
                .compress
                .compress_vec(rest, out, FlushCompress::Finish)?
                == Status::StreamEnd
            {
                break;
            }
        }
        let mut crc = Crc::new();
        crc.update(input);
        out.extend_from_slice(&crc.sum().to_le_bytes());
        // ISIZE is the input length modulo 2^32 (RFC 1952 section 2.3.1).
        out.extend_from_slice(&(input.len() as u32).to_le_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn round_trips_and_reuses_the_compressor() {
        let mut gzip = Gzip::new();
        let mut out = Vec::new();
        for input in [&b""[..], b"a", &b"metric_total 1\n".repeat(5000)] {
            gzip.encode(input, &mut out).unwrap();
            let mut decoded = Vec::new();
            flate2::read::GzDecoder::new(&out[..])
                .read_to_end(&mut decoded)
                .unwrap();
            assert_eq!(decoded, input);
        }
        assert!(out.len() < 5000, "compressed to {}", out.len());
    }
}
