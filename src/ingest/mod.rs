//! `dvt ingest`, without the Kafka client: the `ingest:` block declared on a
//! source table ([`spec`]), messages mapped into `COPY`-ready CSV rows (or,
//! for DuckDB, Arrow columns for its appender, [`arrow_rows`]) and dead
//! letters ([`mapping`]), and batches committed together with their
//! offsets in one warehouse transaction ([`state`]).
//!
//! The consumer loop drives these in order:
//!
//! 1. For each ingested source table (its `ingest:` block read by
//!    [`sources::read`]), build a
//!    [`Mapper`] and a [`Destination`], then [`prepare_tables`].
//! 2. On partition assignment, [`load_offsets`] and seek there.
//! 3. For each batch: [`Mapper::batch`], [`BatchEncoder::push`] every
//!    message, [`BatchEncoder::finish`], then [`commit_batch`] with
//!    [`StoredOffsets::commits_for`], and [`StoredOffsets::record`] once it
//!    committed.

pub mod arrow_rows;
pub mod bronze;
#[cfg(feature = "kafka")]
pub mod consumer;
#[cfg(feature = "kafka")]
pub mod driver;
pub mod freshness;
pub mod mapping;
#[cfg(feature = "kafka")]
pub mod produce;
pub mod results;
pub mod sources;
pub mod spec;
pub mod state;

pub use mapping::{
    dead_letter_columns, BatchEncoder, Dialect, EncodedBatch, Mapper, Message, PartitionOffset, Routed, TableColumn,
};
pub use spec::{BatchLimits, ColumnType, Format, IngestSpec, JsonPath, Mapping, PathStep, TypedColumn};
pub use state::{
    commit_after, commit_batch, commit_chunks, load_offsets, offsets_relation, prepare_tables, Committed, Destination,
    OffsetCommit, OffsetStore, StateError, StoredOffsets,
};
