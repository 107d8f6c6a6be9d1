//! A route closure misused with raw paths cannot grow the layer's families past their
//! capacity: the extra label sets land in the overflow series, and every request is still
//! counted exactly once. (Its own test binary: it fills the families on purpose.)
#![cfg(feature = "tower")]

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::{Request, Response};
use promstatic::testing;
use promstatic::tower::{
    CAPACITY, HTTP_SERVER_REQUEST_DURATION_SECONDS, HTTP_SERVER_REQUESTS_TOTAL, HttpMetricsLayer,
};
use tower_layer::Layer;
use tower_service::Service;

#[derive(Clone, Copy)]
struct Empty;

impl Service<Request<String>> for Empty {
    type Response = Response<http_body_util::Empty<bytes::Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<String>) -> Self::Future {
        ready(Ok(Response::new(http_body_util::Empty::new())))
    }
}

#[test]
fn raw_paths_overflow_instead_of_adding_series() {
    const REQUESTS: usize = 3 * CAPACITY;
    // The mistake the docs warn about: the raw path (here carried in the body) as route.
    let mut service = HttpMetricsLayer::new()
        .route(|request: &Request<String>| Some(request.body().clone()))
        .layer(Empty);
    let mut context = Context::from_waker(Waker::noop());
    for user in 0..REQUESTS {
        let request = Request::new(format!("/users/{user}"));
        let Poll::Ready(Ok(_)) = pin!(service.call(request)).poll(&mut context) else {
            panic!("the service answers at once");
        };
    }
    // A route longer than the per-value limit (128 bytes) overflows too.
    let long = format!("/{}", "x".repeat(200));
    let Poll::Ready(Ok(_)) = pin!(service.call(Request::new(long))).poll(&mut context) else {
        panic!("the service answers at once");
    };

    let requests = testing::value(&HTTP_SERVER_REQUESTS_TOTAL);
    assert_eq!(
        requests.series().len(),
        CAPACITY + 1,
        "capacity, then the overflow series"
    );
    let total: u64 = requests.series().iter().map(|(_, count)| count).sum();
    assert_eq!(total, REQUESTS as u64 + 1, "every request counted once");
    assert_eq!(
        requests.overflow(),
        Some(&(REQUESTS as u64 + 1 - CAPACITY as u64))
    );
    let durations = testing::value(&HTTP_SERVER_REQUEST_DURATION_SECONDS);
    let observed: u64 = durations.series().iter().map(|(_, h)| h.count).sum();
    assert_eq!(observed, REQUESTS as u64 + 1);
    let overflows = HTTP_SERVER_REQUESTS_TOTAL.overflows();
    assert_eq!(overflows.capacity, (REQUESTS - CAPACITY) as u64);
    assert_eq!(overflows.value_length, 1);
}
