//! Binding a router to an address, with the limits a server on a user's machine needs:
//! shared by every subcommand that serves.
//!
//! The bound address is printed on stdout as `listening on http://ADDR` before the
//! first request is accepted, so scripts and tests can ask for port 0 and read the
//! port back instead of racing for a "free" one.
//!
//! `axum::serve` sets no timer, so hyper's header-read timeout never fires, and it
//! accepts without bound: a client holding half a request line, or a thousand idle
//! sockets, would be kept forever. Connections are therefore served here with hyper's
//! HTTP/1 builder and a Tokio timer ([`ServerLimits`]): headers must arrive within
//! `header_read_timeout` (idle keep-alive connections included), at most
//! `max_connections` are open at once (the next waits in the kernel's backlog until one
//! closes), and [`read_body`] refuses a `Content-Length` over the cap before a byte of
//! body is read and gives the rest `body_read_timeout`. HTTP/1 only: browsers speak
//! HTTP/2 only over TLS, which these servers never terminate. Each request carries the
//! address it came in on ([`LocalAddr`]), which the proxy's same-origin rule needs when
//! it listens on port 0.

use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{header, HeaderMap, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use medinsight_core::endpoint::wire::ErrorBody;
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};
use tower::ServiceExt;

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}: {source} (is another server using that port? choose another with --listen)")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("server stopped with an error: {0}")]
    Serve(std::io::Error),
}

/// How long and how many: the server's bounds on what a client may hold.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerLimits {
    /// A request's line and headers must arrive within this (hyper closes the
    /// connection without an answer otherwise); an idle keep-alive connection is closed
    /// after it too.
    pub header_read_timeout: Duration,
    /// A request's body must arrive within this once its handler starts reading it
    /// (408 otherwise).
    pub body_read_timeout: Duration,
    /// Connections open at once; the next is accepted when one closes.
    pub max_connections: usize,
}

impl Default for ServerLimits {
    /// Generous for a browser on this machine or the LAN (it sends its headers in one
    /// packet and at most a few MB of body, over at most six connections), short of
    /// what a client holding sockets open would need.
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            body_read_timeout: Duration::from_secs(30),
            max_connections: 256,
        }
    }
}

/// The address a request came in on, added to every request's extensions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LocalAddr(pub SocketAddr);

/// Serves `app` on `addr` until Ctrl-C or SIGTERM.
pub async fn serve(addr: SocketAddr, app: Router, limits: &ServerLimits) -> Result<(), ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServeError::Serve)?;
    println!("listening on http://{local}");
    // A pipe to a test harness is block-buffered: flush so the line arrives now.
    let _ = std::io::stdout().flush();
    serve_on(listener, app, limits, shutdown_signal()).await;
    Ok(())
}

/// Serves `app` on `listener` within `limits` until `shutdown` completes, then lets the
/// requests under way finish.
pub async fn serve_on(
    listener: TcpListener,
    app: Router,
    limits: &ServerLimits,
    shutdown: impl Future<Output = ()>,
) {
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let open = Arc::new(Semaphore::new(max));
    let (closing, closed) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A permit first: beyond the limit, connections wait in the kernel's backlog.
        let permit = tokio::select! {
            permit = open.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_error(e).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(local) = stream.local_addr() else {
            continue;
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
            request.extensions_mut().insert(LocalAddr(local));
            app.clone().oneshot(request.map(Body::new))
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout);
        let mut closed = closed.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            let mut connection = std::pin::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(e) = result {
                        tracing::debug!("connection ended: {e}");
                    }
                }
                () = async { let _ = closed.wait_for(|closing| *closing).await; } => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
        });
    }
    drop(listener);
    let _ = closing.send(true);
    // Every connection holds a permit until it ends: having them all back means done.
    let _ = open.acquire_many(max as u32).await;
}

/// As hyper and axum do: a client giving up is nothing; anything else (out of file
/// descriptors) is logged and waited out for a second rather than spun on.
async fn accept_error(e: std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    ) {
        return;
    }
    tracing::error!("accept error: {e}");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Why a request's body was not read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("the request is over {0} bytes")]
    TooLarge(usize),
    #[error("the request's body did not arrive within {} s", .0.as_secs_f32())]
    TooSlow(Duration),
    #[error("the request's body could not be read: {0}")]
    Broken(String),
}

impl BodyError {
    /// 413, 408 or 400.
    pub fn status(&self) -> StatusCode {
        match self {
            BodyError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::TooSlow(_) => StatusCode::REQUEST_TIMEOUT,
            BodyError::Broken(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// The whole of `body`, at most `max` bytes, within `within`. A `Content-Length` over
/// `max` is refused before anything is read (hyper then sends no `100 Continue`, and a
/// client announcing a gigabyte is answered at once rather than when its bytes pass
/// the cap).
pub async fn read_body(
    headers: &HeaderMap,
    body: Body,
    max: usize,
    within: Duration,
) -> Result<Bytes, BodyError> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if announced.is_some_and(|n| n > max as u64) {
        return Err(BodyError::TooLarge(max));
    }
    let limited = http_body_util::Limited::new(body, max);
    match tokio::time::timeout(within, http_body_util::BodyExt::collect(limited)).await {
        Err(_) => Err(BodyError::TooSlow(within)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(BodyError::TooLarge(max)),
        Ok(Err(e)) => Err(BodyError::Broken(e.to_string())),
    }
}

/// An error answer as both servers write it: `{"message": …}` with `status`.
pub fn json_error(status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    (status, Json(ErrorBody { message: &message })).into_response()
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}
