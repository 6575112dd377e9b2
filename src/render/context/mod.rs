//! dbt's Jinja context beyond refs and config: the objects and functions
//! that packages and materializations call.
//!
//! - [`warehouse`]: the bridge to the warehouse that `statement`,
//!   `run_query`, `load_result` and `adapter`'s live methods use at run time.
//! - [`table`]: the agate-like table those queries return.

pub mod table;
pub mod warehouse;
