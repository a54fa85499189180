//! Connections: plain or TLS (feature `tls`), for the pool and for the status listener.

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use futures::Stream;
use tokio_postgres::config::{Host, SslMode};
use tokio_postgres::{AsyncMessage, Client, Config, NoTls};

use crate::error::PostgresError;

/// How connections are made: in plain text, or with rustls when the `tls` feature is on.
#[derive(Clone)]
pub(crate) enum Connector {
    Plain,
    #[cfg(feature = "tls")]
    Rustls(tokio_postgres_rustls::MakeRustlsConnect),
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Connector::Plain => f.write_str("Plain"),
            #[cfg(feature = "tls")]
            Connector::Rustls(_) => f.write_str("Rustls"),
        }
    }
}

impl Connector {
    /// The connector `config`'s `sslmode` calls for.
    pub fn for_config(config: &Config) -> Result<Self, PostgresError> {
        let mode = config.get_ssl_mode();
        #[cfg(feature = "tls")]
        {
            if mode == SslMode::Disable {
                return Ok(Connector::Plain);
            }
            Ok(Connector::Rustls(
                tokio_postgres_rustls::MakeRustlsConnect::new(tls_config()?),
            ))
        }
        #[cfg(not(feature = "tls"))]
        {
            if mode == SslMode::Require {
                return Err(PostgresError::InvalidConfig(
                    "sslmode=require needs genkit-postgres's `tls` feature".into(),
                ));
            }
            // `prefer` without TLS support talks plain text, as libpq built without SSL does
            Ok(Connector::Plain)
        }
    }

    pub fn pool(
        &self,
        config: Config,
        size: usize,
        connect_timeout: Duration,
        wait: Duration,
    ) -> Result<Pool, PostgresError> {
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let manager = match self {
            Connector::Plain => Manager::from_config(config, NoTls, manager_config),
            #[cfg(feature = "tls")]
            Connector::Rustls(tls) => Manager::from_config(config, tls.clone(), manager_config),
        };
        Pool::builder(manager)
            .max_size(size)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(wait))
            .create_timeout(Some(connect_timeout))
            .recycle_timeout(Some(connect_timeout))
            .build()
            .map_err(|e| PostgresError::InvalidConfig(format!("connection pool: {e}")))
    }

    /// One connection outside the pool, and the stream of its asynchronous messages
    /// (notifications), which must be polled for the connection to make progress.
    pub async fn connect(
        &self,
        config: &Config,
    ) -> Result<
        (
            Client,
            futures::stream::BoxStream<'static, Result<AsyncMessage, tokio_postgres::Error>>,
        ),
        PostgresError,
    > {
        match self {
            Connector::Plain => {
                let (client, conn) = config
                    .connect(NoTls)
                    .await
                    .map_err(PostgresError::db("connect"))?;
                Ok((client, Box::pin(messages(conn))))
            }
            #[cfg(feature = "tls")]
            Connector::Rustls(tls) => {
                let (client, conn) = config
                    .connect(tls.clone())
                    .await
                    .map_err(PostgresError::db("connect"))?;
                Ok((client, Box::pin(messages(conn))))
            }
        }
    }
}

/// Drives a connection, yielding its notifications and notices.
fn messages<S, T>(
    mut conn: tokio_postgres::Connection<S, T>,
) -> impl Stream<Item = Result<AsyncMessage, tokio_postgres::Error>> + Send + 'static
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    futures::stream::poll_fn(move |cx| conn.poll_message(cx))
}

/// `host:port/database` of `config`, for messages (never the password).
pub(crate) fn target(config: &Config) -> String {
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        #[cfg(unix)]
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .or(config.get_user())
        .unwrap_or("postgres");
    format!("{host}:{port}/{db}")
}

/// rustls with the ring provider passed in explicitly (no process-wide default is installed
/// behind the application's back), verifying the server with the platform's roots.
#[cfg(feature = "tls")]
fn tls_config() -> Result<rustls::ClientConfig, PostgresError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
    rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PostgresError::InvalidConfig(format!("TLS: {e}")))?
        .with_platform_verifier()
        .map(|b| b.with_no_client_auth())
        .map_err(|e| PostgresError::InvalidConfig(format!("TLS: {e}")))
}
