//! `dvt produce`: a development tool that streams a CSV file or generated
//! DVD-rental events into a Kafka topic; the producer is
//! [`crate::ingest::produce`].

use std::sync::Arc;

use crate::cli::ProduceArgs;
use crate::diagnostic::Diagnostics;
use crate::output::Printer;
use crate::Outcome;

pub fn produce(printer: Arc<Printer>, args: &ProduceArgs) -> Result<Outcome, Diagnostics> {
    crate::ingest::produce::produce(printer, args)
}
