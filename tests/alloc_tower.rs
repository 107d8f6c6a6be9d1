//! The HTTP metrics layer allocates nothing per request: a whole request through the layer
//! (call, response future, every body frame, the end that records it) performs exactly the
//! allocations of the same request without the layer, which here is zero. The first
//! request of a label set inserts its series into static storage, which allocates nothing
//! either.
#![cfg(feature = "tower")]

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};

use bytes::Bytes;
use counting_alloc::{CountingAllocator, allocations_in};
use http::{Request, Response};
use http_body::Body;
use http_body_util::Full;
use promstatic::tower::{HTTP_SERVER_REQUESTS_TOTAL, HttpMetricsLayer};
use tower_layer::Layer;
use tower_service::Service;

#[global_allocator]
static GLOBAL: CountingAllocator = CountingAllocator;

/// A service answering from static bytes: `Response::new` and an empty `HeaderMap`
/// allocate nothing, so whatever the layer allocated would show.
#[derive(Clone, Copy)]
struct Hello;

impl Service<Request<()>> for Hello {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Response<Full<Bytes>>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        ready(Ok(Response::new(Full::new(Bytes::from_static(b"hello")))))
    }
}

/// One request, as a server runs it: call, poll the future, poll the body to its end.
fn serve<S, B>(service: &mut S, request: Request<()>)
where
    S: Service<Request<()>, Response = Response<B>>,
    B: Body + Unpin,
{
    let mut context = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(response)) = pin!(service.call(request)).poll(&mut context) else {
        panic!("the service answers at once");
    };
    let mut body = response.into_body();
    while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut context) {
        assert!(frame.is_ok());
    }
}

fn request(route: &'static str) -> Request<()> {
    let mut request = Request::new(());
    request.extensions_mut().insert(route);
    request
}

#[test]
fn a_request_through_the_layer_allocates_nothing() {
    // Built outside the counted sections: the requests' extension maps allocate (that is
    // the host's request, not the layer's work).
    let mut requests: Vec<_> = (0..101).map(|_| request("/alloc")).collect();
    let mut bare = Hello;
    let mut layered = HttpMetricsLayer::new()
        .route(|request: &Request<()>| request.extensions().get::<&'static str>().copied())
        .layer(Hello);

    let first = requests.pop().unwrap();
    // The first request of a label set creates its series: still no allocation.
    assert_eq!(allocations_in(|| serve(&mut layered, first)), 0);
    let bare_allocations = allocations_in(|| {
        for _ in 0..100 {
            serve(&mut bare, Request::new(()));
        }
    });
    let layered_allocations = allocations_in(|| {
        for request in requests.drain(..) {
            serve(&mut layered, request);
        }
    });
    assert_eq!((bare_allocations, layered_allocations), (0, 0));
    let recorded = promstatic::testing::value(&HTTP_SERVER_REQUESTS_TOTAL);
    assert_eq!(recorded.get(&["GET", "/alloc", "200", ""]), Some(&101));
}
