//! A Spark Connect client over tonic: one gRPC channel to the server, and
//! the calls dvt makes on it (`ExecutePlan`, `Config`, `Interrupt`,
//! `ReleaseSession`), each on behalf of a session id. Sessions are the
//! server's: each id is a Spark session of its own, with its own temporary
//! views and SQL config, and the server creates it on the first call that
//! names it.
//!
//! The bearer token goes into each call's metadata and nowhere else; it is
//! never part of an error or a log line.

use http::uri::PathAndQuery;
use tonic::metadata::{AsciiMetadataValue, MetadataKey};
use tonic::transport::{Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status, Streaming};

use super::proto;

/// The largest message dvt sends or accepts: Spark's own server limit
/// (`spark.connect.grpc.maxInboundMessageSize`, 128 MiB). tonic's default
/// of 4 MiB is smaller than one Arrow batch the server may send.
const MAX_MESSAGE_BYTES: usize = 128 * 1024 * 1024;

/// How long connecting may take before dvt gives up.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where the server is and how to authenticate; the token is a secret.
#[derive(Clone)]
pub struct Endpoints {
    pub host: String,
    pub port: u16,
    pub use_ssl: bool,
    /// Sent as `authorization: Bearer <token>`.
    pub token: Option<String>,
    /// Databricks' `x-databricks-cluster-id` header, naming the cluster.
    pub cluster_id: Option<String>,
}

impl Endpoints {
    /// `sc://host:port`, safe to print.
    pub fn display(&self) -> String {
        format!("sc://{}:{}", self.host, self.port)
    }
}

/// One channel to a Spark Connect server.
pub struct Client {
    channel: Channel,
    headers: Vec<(MetadataKey<tonic::metadata::Ascii>, AsciiMetadataValue)>,
    user: proto::UserContext,
}

/// What the client says it is, in every request.
const CLIENT_TYPE: &str = concat!("dvt/", env!("CARGO_PKG_VERSION"));

impl Client {
    /// Connects, or says why not.
    pub async fn connect(endpoints: &Endpoints) -> Result<Self, super::super::DriverError> {
        let scheme = if endpoints.use_ssl { "https" } else { "http" };
        let mut endpoint = Endpoint::from_shared(format!("{scheme}://{}:{}", endpoints.host, endpoints.port))?
            .connect_timeout(CONNECT_TIMEOUT)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(std::time::Duration::from_secs(30));
        if endpoints.use_ssl {
            endpoint = endpoint.tls_config(
                ClientTlsConfig::new()
                    .with_native_roots()
                    .domain_name(endpoints.host.clone()),
            )?;
        }
        let channel = endpoint.connect().await?;
        let mut headers = Vec::new();
        if let Some(token) = &endpoints.token {
            let value: AsciiMetadataValue = format!("Bearer {token}")
                .parse()
                .map_err(|_| "the token holds characters that cannot go in a header")?;
            headers.push((MetadataKey::from_static("authorization"), value));
        }
        if let Some(cluster) = &endpoints.cluster_id {
            let value: AsciiMetadataValue = cluster
                .parse()
                .map_err(|_| "the cluster id holds characters that cannot go in a header")?;
            headers.push((MetadataKey::from_static("x-databricks-cluster-id"), value));
        }
        Ok(Self {
            channel,
            headers,
            user: proto::UserContext {
                user_id: "dvt".to_string(),
                user_name: "dvt".to_string(),
            },
        })
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        for (key, value) in &self.headers {
            request.metadata_mut().insert(key.clone(), value.clone());
        }
        request
    }

    async fn ready(&self) -> Result<tonic::client::Grpc<Channel>, Status> {
        let mut grpc = tonic::client::Grpc::new(self.channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        grpc.ready()
            .await
            .map_err(|error| Status::unavailable(format!("the Spark Connect channel is not ready: {error}")))?;
        Ok(grpc)
    }

    async fn unary<Q, R>(&self, path: &'static str, message: Q) -> Result<R, Status>
    where
        Q: prost::Message + Send + Sync + 'static,
        R: prost::Message + Default + Send + Sync + 'static,
    {
        let mut grpc = self.ready().await?;
        let codec = tonic_prost::ProstCodec::<Q, R>::default();
        let response = grpc
            .unary(self.request(message), PathAndQuery::from_static(path), codec)
            .await?;
        Ok(response.into_inner())
    }

    /// Runs a plan in a session; its responses stream back.
    pub async fn execute(
        &self,
        session_id: &str,
        operation_id: String,
        plan: proto::Plan,
    ) -> Result<Streaming<proto::ExecutePlanResponse>, Status> {
        let message = proto::ExecutePlanRequest {
            session_id: session_id.to_string(),
            user_context: Some(self.user.clone()),
            plan: Some(plan),
            client_type: Some(CLIENT_TYPE.to_string()),
            operation_id: Some(operation_id),
            tags: Vec::new(),
        };
        let mut grpc = self.ready().await?;
        let codec = tonic_prost::ProstCodec::<proto::ExecutePlanRequest, proto::ExecutePlanResponse>::default();
        let response = grpc
            .server_streaming(
                self.request(message),
                PathAndQuery::from_static("/spark.connect.SparkConnectService/ExecutePlan"),
                codec,
            )
            .await?;
        Ok(response.into_inner())
    }

    /// Sets SQL config of a session.
    pub async fn set_config(&self, session_id: &str, pairs: &[(String, String)]) -> Result<(), Status> {
        let message = proto::ConfigRequest {
            session_id: session_id.to_string(),
            user_context: Some(self.user.clone()),
            operation: Some(proto::ConfigOperation {
                set: Some(proto::ConfigSet {
                    pairs: pairs
                        .iter()
                        .map(|(key, value)| proto::KeyValue {
                            key: key.clone(),
                            value: Some(value.clone()),
                        })
                        .collect(),
                }),
            }),
            client_type: Some(CLIENT_TYPE.to_string()),
        };
        let _: proto::ConfigResponse = self.unary("/spark.connect.SparkConnectService/Config", message).await?;
        Ok(())
    }

    /// Interrupts every operation the session is running.
    pub async fn interrupt(&self, session_id: &str) -> Result<(), Status> {
        let message = proto::InterruptRequest {
            session_id: session_id.to_string(),
            user_context: Some(self.user.clone()),
            client_type: Some(CLIENT_TYPE.to_string()),
            interrupt_type: proto::INTERRUPT_TYPE_ALL,
        };
        let _: proto::InterruptResponse = self
            .unary("/spark.connect.SparkConnectService/Interrupt", message)
            .await?;
        Ok(())
    }

    /// Ends a session on the server, dropping its temporary views.
    pub async fn release(&self, session_id: &str) -> Result<(), Status> {
        let message = proto::ReleaseSessionRequest {
            session_id: session_id.to_string(),
            user_context: Some(self.user.clone()),
            client_type: Some(CLIENT_TYPE.to_string()),
        };
        let _: proto::ReleaseSessionResponse = self
            .unary("/spark.connect.SparkConnectService/ReleaseSession", message)
            .await?;
        Ok(())
    }
}
