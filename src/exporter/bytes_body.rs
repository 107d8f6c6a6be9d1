//! The exporter's body with `bytes::Bytes` chunks, for stacks that want them.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

use super::pool::ExporterBody;

/// An [`ExporterBody`] whose chunks are [`Bytes`]: what axum's `Body::new` takes, and what
/// a hyper service needs when its other responses are `Full<Bytes>` (one body type for
/// both arms of an `Either`). The pooled buffer is wrapped (`Bytes::from_owner`), never
/// copied, and goes back to the pool once sent; the exact length is kept, so the response
/// has a `Content-Length` instead of chunked encoding.
///
/// ```no_run
/// # use promstatic::exporter::Exporter;
/// # fn route(request: hyper::Request<hyper::body::Incoming>) {
/// let metrics = Exporter::new().service().expect("valid configuration");
/// let response = metrics.metrics(&request).map(|body| body.into_bytes());
/// # }
/// ```
#[derive(Debug)]
pub struct BytesBody {
    inner: ExporterBody,
}

impl ExporterBody {
    /// This body with [`Bytes`] chunks; see [`BytesBody`].
    pub fn into_bytes(self) -> BytesBody {
        BytesBody { inner: self }
    }
}

impl Body for BytesBody {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        context: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        // `ExporterBody` is `Unpin` (it holds no self-references).
        Pin::new(&mut self.get_mut().inner)
            .poll_frame(context)
            .map(|frame| frame.map(|frame| frame.map(|frame| frame.map_data(Bytes::from_owner))))
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
