//! `wirefeed eval topics`.

use std::path::Path;

use crate::config::StagesConfig;

/// Evaluate against the labelled corpus at `input` and print the figures.
pub fn run(input: &Path, config: &StagesConfig) -> anyhow::Result<()> {
    let _ = (input, config);
    anyhow::bail!("the topics evaluation is not built yet")
}
