//! The HTTP metrics layer, driven by hand: every outcome of a request (complete, 5xx,
//! cancelled before the head, body dropped early, service error, body error, empty body)
//! is recorded exactly once with its documented labels, and the duration runs to the end of
//! the body. Each test uses its own route, so parallel tests do not see each other's series
//! (asserted through `promstatic::testing` deltas).
#![cfg(feature = "tower")]

use std::collections::VecDeque;
use std::future::{Future, Ready, ready};
use std::pin::{Pin, pin};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body::{Body, Frame};
use promstatic::testing::{self, Format};
use promstatic::tower::{
    HTTP_SERVER_ACTIVE_REQUESTS, HTTP_SERVER_REQUEST_DURATION_SECONDS, HTTP_SERVER_REQUESTS_TOTAL,
    HttpMetricsLayer, Method,
};
use tower_layer::Layer;
use tower_service::Service;

/// A body of given frames (an `Err` frame is an error), ending when they are all taken.
struct Frames(VecDeque<Result<Bytes, &'static str>>);

impl Frames {
    fn of(frames: &[Result<&'static str, &'static str>]) -> Frames {
        Frames(
            frames
                .iter()
                .map(|frame| frame.map(|text| Bytes::from_static(text.as_bytes())))
                .collect(),
        )
    }
}

impl Body for Frames {
    type Data = Bytes;
    type Error = &'static str;

    fn poll_frame(
        self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, &'static str>>> {
        Poll::Ready(
            self.get_mut()
                .0
                .pop_front()
                .map(|frame| frame.map(Frame::data)),
        )
    }

    fn is_end_stream(&self) -> bool {
        self.0.is_empty()
    }
}

/// A service answering every request with `respond(request)`.
#[derive(Clone)]
struct Handler<F>(F);

impl<F, B> Service<Request<B>> for Handler<F>
where
    F: FnMut(Request<B>) -> Result<Response<Frames>, &'static str>,
{
    type Response = Response<Frames>;
    type Error = &'static str;
    type Future = Ready<Result<Response<Frames>, &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), &'static str>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready((self.0)(request))
    }
}

/// A service whose response never comes (so the caller can only drop the future).
struct Never;

impl Service<Request<()>> for Never {
    type Response = Response<Frames>;
    type Error = &'static str;
    type Future = std::future::Pending<Result<Response<Frames>, &'static str>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), &'static str>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        std::future::pending()
    }
}

fn respond(
    status: u16,
    frames: &'static [Result<&'static str, &'static str>],
) -> impl FnMut(Request<()>) -> Result<Response<Frames>, &'static str> + Clone {
    move |_| {
        let mut response = Response::new(Frames::of(frames));
        *response.status_mut() = StatusCode::from_u16(status).unwrap();
        Ok(response)
    }
}

/// The layer with the route taken from a `&'static str` in the request's extensions.
fn layer() -> HttpMetricsLayer<impl Fn(&Request<()>) -> Option<&'static str> + Clone> {
    HttpMetricsLayer::new()
        .route(|request: &Request<()>| request.extensions().get::<&'static str>().copied())
}

fn request(method: http::Method, route: &'static str) -> Request<()> {
    let mut request = Request::builder()
        .method(method)
        .uri("/raw/path/123")
        .body(())
        .unwrap();
    request.extensions_mut().insert(route);
    request
}

fn poll_once<F: Future>(future: Pin<&mut F>) -> Poll<F::Output> {
    future.poll(&mut Context::from_waker(Waker::noop()))
}

fn complete<F: Future>(future: F) -> F::Output {
    match poll_once(pin!(future)) {
        Poll::Ready(output) => output,
        Poll::Pending => panic!("the test services answer at once"),
    }
}

/// What one poll of a body gives.
type Polled<B> = Poll<Option<Result<Frame<<B as Body>::Data>, <B as Body>::Error>>>;

/// Polls the body for its next frame once.
fn next_frame<B: Body + Unpin>(body: &mut B) -> Polled<B> {
    Pin::new(body).poll_frame(&mut Context::from_waker(Waker::noop()))
}

/// Reads the whole body, frame by frame, as a server does.
fn drain<B: Body + Unpin>(body: &mut B) -> Vec<Result<(), B::Error>> {
    let mut frames = Vec::new();
    while let Poll::Ready(Some(frame)) = next_frame(body) {
        frames.push(frame.map(|_| ()));
    }
    frames
}

/// The delta of the request counter and of the histogram's count for one label set.
fn recorded(
    requests: &testing::Snapshot<'_, impl testing::Readable<Value = testing::FamilyValue<u64>>>,
    durations: &testing::Snapshot<
        '_,
        impl testing::Readable<Value = testing::FamilyValue<testing::HistogramValue>>,
    >,
    labels: &[&str],
) -> (u64, u64) {
    let requests = requests.delta().get(labels).copied().unwrap_or(0);
    let durations = durations.delta().get(labels).map_or(0, |value| value.count);
    (requests, durations)
}

#[test]
fn a_complete_request_is_recorded_once_at_the_end_of_its_body() {
    let requests = testing::snapshot(&HTTP_SERVER_REQUESTS_TOTAL);
    let durations = testing::snapshot(&HTTP_SERVER_REQUEST_DURATION_SECONDS);
    let mut service = layer().layer(Handler(respond(200, &[Ok("hello "), Ok("world")])));
    let labels = ["POST", "/complete", "200", ""];

    let response = complete(service.call(request(http::Method::POST, "/complete"))).unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // The head alone does not end the request: the body is still to be sent.
    assert_eq!(recorded(&requests, &durations, &labels), (0, 0));

    let mut body = response.into_body();
    assert_eq!(drain(&mut body), [Ok(()), Ok(())]);
    assert_eq!(recorded(&requests, &durations, &labels), (1, 1));
    drop(body);
    // Dropping a finished body records nothing more (no `cancelled`).
    assert_eq!(recorded(&requests, &durations, &labels), (1, 1));
    let cancelled = ["POST", "/complete", "200", "cancelled"];
    assert_eq!(recorded(&requests, &durations, &cancelled), (0, 0));
}

#[test]
fn the_duration_runs_to_the_end_of_the_body() {
    let durations = testing::snapshot(&HTTP_SERVER_REQUEST_DURATION_SECONDS);
    let mut service = layer().layer(Handler(respond(200, &[Ok("a"), Ok("b")])));
    let response = complete(service.call(request(http::Method::GET, "/slow-body"))).unwrap();
    let mut body = response.into_body();
    assert!(next_frame(&mut body).is_ready());
    // Sleeping only makes the body's end later: a lower bound, safe on a loaded machine.
    std::thread::sleep(Duration::from_millis(60));
    drain(&mut body);
    let delta = durations.delta();
    let observed = delta.get(&["GET", "/slow-body", "200", ""]).unwrap();
    assert_eq!(observed.count, 1);
    assert!(observed.sum >= 0.06, "{observed:?}");
    assert_eq!(observed.cumulative(0.05), Some(0), "{observed:?}");
}

#[test]
fn a_server_error_has_its_code_as_error_type_and_a_client_error_has_none() {
    let requests = testing::snapshot(&HTTP_SERVER_REQUESTS_TOTAL);
    let durations = testing::snapshot(&HTTP_SERVER_REQUEST_DURATION_SECONDS);
    for (status, labels) in [
        (503, ["PUT", "/codes", "503", "503"]),
        (404, ["PUT", "/codes", "404", ""]),
    ] {
        let mut service = layer().layer(Handler(respond(status, &[Ok("x")])));
        let response = complete(service.call(request(http::Method::PUT, "/codes"))).unwrap();
        drain(&mut response.into_body());
        assert_eq!(
            recorded(&requests, &durations, &labels),
            (1, 1),
            "{labels:?}"
        );
    }
}

#[test]
fn a_request_dropped_before_its_response_is_cancelled_without_a_status() {
    let requests = testing::snapshot(&HTTP_SERVER_REQUESTS_TOTAL);
    let durations = testing::snapshot(&HTTP_SERVER_REQUEST_DURATION_SECONDS);
    let mut service = HttpMetricsLayer::new()
        .route(|request: &Request<()>| request.extensions().get::<&'static str>().copied())
        .layer(Never);
    {
        let mut future = pin!(service.call(request(http::Method::DELETE, "/never")));
        assert!(poll_once(future.as_mut()).is_pending());
    }
    let labels = ["DELETE", "/never", "", "cancelled"];
    assert_eq!(recorded(&requests, &durations, &labels), (1, 1));
}

#[test]
fn a_body_dropped_before_its_end_is_cancelled_with_its_status() {
    let requests = testing::snapshot(&HTTP_SERVER_REQUESTS_TOTAL);
    let durations = testing::snapshot(&HTTP_SERVER_REQUEST_DURATION_SECONDS);
    let mut service = layer().layer(Handler(respond(200, &[Ok("one"), Ok("two")])));
    let response = complete(service.call(request(http::Method::GET, "/dropped"))).unwrap();
    let mut body = response.into_body();
    assert!(next_frame(&mut body).is_ready());
    drop(body);
    assert_eq!(
        recorded(
            &requests,
            &durations,
            &["GET", "/dropped", "200", "cancelled"]
        ),
        (1, 1)
    );
    assert_eq!(
        recorded(&requests, &durations, &["GET", "/dropped", "200", ""]),
        (0, 0)
    );
}

#[test]
fn service_and_body_errors_are_typed() {
    let requests = testing::snapshot(&HTTP_SERVER_REQUESTS_TOTAL);
    let durations = testing::snapshot(&HTTP_SERVER_REQUEST_DURATION_SECONDS);

    let mut failing = layer().layer(Handler(|_: Request<()>| Err("down")));
    let outcome = complete(failing.call(request(http::Method::PATCH, "/errors")));
    assert_eq!(outcome.err(), Some("down"));
    let service_error = ["PATCH", "/errors", "", "service_error"];
    assert_eq!(recorded(&requests, &durations, &service_error), (1, 1));

    let mut broken = layer().layer(Handler(respond(200, &[Ok("start"), Err("reset")])));
    let response = complete(broken.call(request(http::Method::PATCH, "/errors"))).unwrap();
    let mut body = response.into_body();
    assert_eq!(drain(&mut body), [Ok(()), Err("reset")]);
    drop(body);
    let body_error = ["PATCH", "/errors", "200", "body_error"];
    assert_eq!(recorded(&requests, &durations, &body_error), (1, 1));
    let cancelled = ["PATCH", "/errors", "200", "cancelled"];
    assert_eq!(recorded(&requests, &durations, &cancelled), (0, 0));
}

#[test]
fn an_empty_body_ends_the_request_with_its_head() {
    let requests = testing::snapshot(&HTTP_SERVER_REQUESTS_TOTAL);
    let durations = testing::snapshot(&HTTP_SERVER_REQUEST_DURATION_SECONDS);
    let mut service = layer().layer(Handler(respond(204, &[])));
    let response = complete(service.call(request(http::Method::HEAD, "/empty"))).unwrap();
    let labels = ["HEAD", "/empty", "204", ""];
    // Recorded already: a server never polls an empty body, and may drop it unpolled.
    assert_eq!(recorded(&requests, &durations, &labels), (1, 1));
    drop(response);
    assert_eq!(recorded(&requests, &durations, &labels), (1, 1));
}

#[test]
fn head_and_not_modified_responses_end_with_their_head() {
    let requests = testing::snapshot(&HTTP_SERVER_REQUESTS_TOTAL);
    let durations = testing::snapshot(&HTTP_SERVER_REQUEST_DURATION_SECONDS);
    // A server drops these bodies unread (HTTP sends none): not a cancellation.
    let mut head = layer().layer(Handler(respond(200, &[Ok("not sent")])));
    drop(complete(head.call(request(http::Method::HEAD, "/bodiless"))).unwrap());
    let mut cached = layer().layer(Handler(respond(304, &[Ok("not sent")])));
    drop(complete(cached.call(request(http::Method::HEAD, "/bodiless"))).unwrap());
    let mut get_cached = layer().layer(Handler(respond(304, &[Ok("not sent")])));
    drop(complete(get_cached.call(request(http::Method::GET, "/bodiless"))).unwrap());
    for labels in [
        ["HEAD", "/bodiless", "200", ""],
        ["HEAD", "/bodiless", "304", ""],
        ["GET", "/bodiless", "304", ""],
    ] {
        assert_eq!(
            recorded(&requests, &durations, &labels),
            (1, 1),
            "{labels:?}"
        );
    }
    let cancelled = requests.delta();
    let cancelled = cancelled
        .series()
        .iter()
        .filter(|(labels, _)| labels[1] == "/bodiless" && labels[3] == "cancelled");
    assert_eq!(cancelled.count(), 0);
}

#[test]
fn unknown_methods_and_missing_routes_have_fixed_labels() {
    let requests = testing::snapshot(&HTTP_SERVER_REQUESTS_TOTAL);
    let mut service = HttpMetricsLayer::new().layer(Handler(respond(200, &[])));
    for invented in ["BREW", "PROPFIND", "X-ANYTHING"] {
        let method = http::Method::from_bytes(invented.as_bytes()).unwrap();
        let request = Request::builder()
            .method(method)
            .uri("/unrouted/raw/path")
            .body(())
            .unwrap();
        complete(service.call(request)).unwrap();
    }
    // No route closure: every request gets the empty route; the methods all become `_OTHER`.
    let delta = requests.delta();
    assert_eq!(delta.get(&["_OTHER", "", "200", ""]), Some(&3));
    assert!(
        delta
            .series()
            .iter()
            .all(|(labels, _)| !labels.iter().any(|value| value.contains("raw"))),
        "a raw path reached a label: {delta:?}"
    );
    assert_eq!(Method::of(&http::Method::GET), Method::Get);
    assert_eq!(
        Method::of(&http::Method::from_bytes(b"get").unwrap()),
        Method::Other
    );
}

#[test]
fn the_in_flight_gauge_covers_the_body_too() {
    // Only this test uses TRACE, so the gauge's series is its own.
    let active = testing::snapshot(&HTTP_SERVER_ACTIVE_REQUESTS);
    let in_flight = || active.delta().get(&["TRACE"]).copied();
    let mut service = layer().layer(Handler(respond(200, &[Ok("a"), Ok("b")])));
    let future = service.call(request(http::Method::TRACE, "/in-flight"));
    assert_eq!(in_flight(), Some(1));
    let response = complete(future).unwrap();
    assert_eq!(in_flight(), Some(1));
    let mut body = response.into_body();
    drain(&mut body);
    assert_eq!(in_flight(), Some(0));
    let future = service.call(request(http::Method::TRACE, "/in-flight"));
    assert_eq!(in_flight(), Some(1));
    drop(future);
    assert_eq!(in_flight(), Some(0));
}

#[test]
fn the_exposition_has_the_opentelemetry_names_and_buckets() {
    let mut service = layer().layer(Handler(respond(200, &[Ok("x")])));
    let response = complete(service.call(request(http::Method::OPTIONS, "/exposed"))).unwrap();
    drain(&mut response.into_body());
    let text = testing::render(&HTTP_SERVER_REQUEST_DURATION_SECONDS, Format::Text).unwrap();
    assert!(text.starts_with(
        "# HELP http_server_request_duration_seconds Duration of HTTP server requests, in \
         seconds, to the end of the response body.\n\
         # TYPE http_server_request_duration_seconds histogram\n"
    ));
    let series = "http_request_method=\"OPTIONS\",http_route=\"/exposed\",\
                  http_response_status_code=\"200\",error_type=\"\"";
    let buckets: Vec<&str> = text
        .lines()
        .filter(|line| line.contains(series) && line.contains("_bucket"))
        .map(|line| {
            let start = line.find("le=\"").unwrap() + 4;
            &line[start..start + line[start..].find('"').unwrap()]
        })
        .collect();
    assert_eq!(
        buckets,
        [
            "0.005", "0.01", "0.025", "0.05", "0.075", "0.1", "0.25", "0.5", "0.75", "1", "2.5",
            "5", "7.5", "10", "+Inf"
        ]
    );
    let counter = testing::render(&HTTP_SERVER_REQUESTS_TOTAL, Format::Text).unwrap();
    assert!(
        counter.contains(&format!("http_server_requests_total{{{series}}} 1\n")),
        "{counter}"
    );
    let gauge = testing::render(&HTTP_SERVER_ACTIVE_REQUESTS, Format::Text).unwrap();
    assert!(
        gauge.contains("# TYPE http_server_active_requests gauge\n"),
        "{gauge}"
    );
    assert!(gauge.contains("http_server_active_requests{http_request_method=\"_OTHER\"}"));
}
