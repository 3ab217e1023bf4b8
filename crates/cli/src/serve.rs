//! Binding a router to an address: shared by every subcommand that serves.
//!
//! The bound address is printed on stdout as `listening on http://ADDR` before the
//! first request is accepted, so scripts and tests can ask for port 0 and read the
//! port back instead of racing for a "free" one.

use std::io::Write;
use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Json, Router};
use medinsight_core::endpoint::wire::ErrorBody;
use tokio::net::TcpListener;

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

/// Serves `app` on `addr` until Ctrl-C or SIGTERM.
pub async fn serve(addr: SocketAddr, app: Router) -> Result<(), ServeError> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr().map_err(ServeError::Serve)?;
    println!("listening on http://{local}");
    // A pipe to a test harness is block-buffered: flush so the line arrives now.
    let _ = std::io::stdout().flush();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .map_err(ServeError::Serve)
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
