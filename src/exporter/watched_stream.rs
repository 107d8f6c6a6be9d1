//! [`WatchedStream`]: the connection's TCP stream, reporting request-cycle progress to its
//! slot (the first bytes of a request, the flush that ends a response) for the watchdog.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

use super::slots::{Phase, SlotRef};

/// The TCP stream, reporting progress to the watchdog.
#[derive(Debug)]
pub(crate) struct WatchedStream {
    pub(crate) stream: TcpStream,
    pub(crate) slot: SlotRef,
}

impl AsyncRead for WatchedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let result = Pin::new(&mut this.stream).poll_read(context, buf);
        if buf.filled().len() > before && this.slot.phase() == Phase::Idle {
            // The first bytes of the next request: its head must now arrive in time.
            this.slot.enter(Phase::ReadingHead);
        }
        result
    }
}

impl AsyncWrite for WatchedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write(context, data)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().stream).poll_write_vectored(context, data)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.stream).poll_flush(context);
        if result.is_ready() && this.slot.phase() == Phase::Responding {
            // hyper flushes once the response is written out: the connection is idle now.
            this.slot.enter(Phase::Idle);
        }
        result
    }

    fn poll_shutdown(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(context)
    }
}
