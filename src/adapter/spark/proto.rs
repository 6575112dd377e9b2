//! The part of Spark Connect's protocol (`spark.connect`, from Spark's
//! `connector/connect/common/src/main/protobuf/spark/connect/*.proto`) that
//! dvt speaks, as prost messages: SQL plans and commands, Arrow results,
//! local relations for seeds, session config, interrupts and releasing a
//! session.
//!
//! The messages are written out here, with the field numbers of the
//! `.proto` files of Spark 4.1 and 4.2, rather than generated: a generated
//! copy of every message would be about 30,000 lines compiled into dvt for
//! the dozen it uses, and generating at build time needs `protoc`, which CI
//! machines do not have. Fields dvt does not read are left out, and prost
//! skips them when decoding. Protobuf field numbers never change once
//! released, so a newer server still answers these.

#[derive(Clone, PartialEq, prost::Message)]
pub struct UserContext {
    #[prost(string, tag = "1")]
    pub user_id: String,
    #[prost(string, tag = "2")]
    pub user_name: String,
}

/// A query (`root`) or a command to run.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Plan {
    #[prost(oneof = "plan::OpType", tags = "1, 2")]
    pub op_type: Option<plan::OpType>,
}

pub mod plan {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum OpType {
        #[prost(message, tag = "1")]
        Root(super::Relation),
        #[prost(message, tag = "2")]
        Command(super::Command),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Relation {
    #[prost(oneof = "relation::RelType", tags = "10, 11")]
    pub rel_type: Option<relation::RelType>,
}

pub mod relation {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum RelType {
        #[prost(message, tag = "10")]
        Sql(super::Sql),
        #[prost(message, tag = "11")]
        LocalRelation(super::LocalRelation),
    }
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sql {
    #[prost(string, tag = "1")]
    pub query: String,
}

/// Rows sent from the client: an Arrow IPC stream.
#[derive(Clone, PartialEq, prost::Message)]
pub struct LocalRelation {
    #[prost(bytes = "vec", optional, tag = "1")]
    pub data: Option<Vec<u8>>,
    #[prost(string, optional, tag = "2")]
    pub schema: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Command {
    #[prost(oneof = "command::CommandType", tags = "3, 5")]
    pub command_type: Option<command::CommandType>,
}

pub mod command {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum CommandType {
        #[prost(message, tag = "3")]
        CreateDataframeView(super::CreateDataFrameViewCommand),
        #[prost(message, tag = "5")]
        SqlCommand(super::SqlCommand),
    }
}

/// SQL run eagerly, as `spark.sql()` runs it.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SqlCommand {
    #[prost(message, optional, tag = "6")]
    pub input: Option<Relation>,
}

/// A session's temporary view of a relation.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CreateDataFrameViewCommand {
    #[prost(message, optional, tag = "1")]
    pub input: Option<Relation>,
    #[prost(string, tag = "2")]
    pub name: String,
    #[prost(bool, tag = "3")]
    pub is_global: bool,
    #[prost(bool, tag = "4")]
    pub replace: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutePlanRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(message, optional, tag = "3")]
    pub plan: Option<Plan>,
    #[prost(string, optional, tag = "4")]
    pub client_type: Option<String>,
    #[prost(string, optional, tag = "6")]
    pub operation_id: Option<String>,
    #[prost(string, repeated, tag = "7")]
    pub tags: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ExecutePlanResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(string, tag = "12")]
    pub operation_id: String,
    #[prost(oneof = "execute_plan_response::ResponseType", tags = "2, 5, 14")]
    pub response_type: Option<execute_plan_response::ResponseType>,
}

pub mod execute_plan_response {
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum ResponseType {
        #[prost(message, tag = "2")]
        ArrowBatch(ArrowBatch),
        #[prost(message, tag = "5")]
        SqlCommandResult(SqlCommandResult),
        #[prost(message, tag = "14")]
        ResultComplete(ResultComplete),
    }

    /// Rows as an Arrow IPC stream.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ArrowBatch {
        #[prost(int64, tag = "1")]
        pub row_count: i64,
        #[prost(bytes = "vec", tag = "2")]
        pub data: Vec<u8>,
    }

    /// What a command answered with: for a query, the relation to run; for
    /// DDL and DML, a local relation of its output rows.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct SqlCommandResult {
        #[prost(message, optional, tag = "1")]
        pub relation: Option<super::Relation>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ResultComplete {}
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct KeyValue {
    #[prost(string, tag = "1")]
    pub key: String,
    #[prost(string, optional, tag = "2")]
    pub value: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(message, optional, tag = "3")]
    pub operation: Option<ConfigOperation>,
    #[prost(string, optional, tag = "4")]
    pub client_type: Option<String>,
}

/// `ConfigRequest.Operation`, of which dvt sends only `set`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigOperation {
    #[prost(message, optional, tag = "1")]
    pub set: Option<ConfigSet>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigSet {
    #[prost(message, repeated, tag = "1")]
    pub pairs: Vec<KeyValue>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ConfigResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(string, repeated, tag = "3")]
    pub warnings: Vec<String>,
}

/// `InterruptRequest.InterruptType.INTERRUPT_TYPE_ALL`: every operation of
/// the session.
pub const INTERRUPT_TYPE_ALL: i32 = 1;

#[derive(Clone, PartialEq, prost::Message)]
pub struct InterruptRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(string, optional, tag = "3")]
    pub client_type: Option<String>,
    #[prost(int32, tag = "4")]
    pub interrupt_type: i32,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct InterruptResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(string, repeated, tag = "2")]
    pub interrupted_ids: Vec<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReleaseSessionRequest {
    #[prost(string, tag = "1")]
    pub session_id: String,
    #[prost(message, optional, tag = "2")]
    pub user_context: Option<UserContext>,
    #[prost(string, optional, tag = "3")]
    pub client_type: Option<String>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ReleaseSessionResponse {
    #[prost(string, tag = "1")]
    pub session_id: String,
}
