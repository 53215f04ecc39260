//! Reading input documents from files or standard input.

use std::io::Read;
use std::path::Path;

use anyhow::Context;

/// Largest document `thv` reads (256 MiB): bigger inputs are refused rather than exhausting memory.
pub const MAX_INPUT_BYTES: u64 = 256 * 1024 * 1024;

/// A document's display name and bytes.
pub struct InputDocument {
    /// File path, or `<stdin>`.
    pub name: String,
    /// Raw bytes.
    pub bytes: Vec<u8>,
}

/// Reads `path`, or standard input when it is `-`.
pub fn read_input(path: &str) -> anyhow::Result<InputDocument> {
    let mut bytes = Vec::new();
    let name = if path == "-" {
        std::io::stdin()
            .lock()
            .take(MAX_INPUT_BYTES + 1)
            .read_to_end(&mut bytes)
            .context("cannot read standard input")?;
        "<stdin>".to_owned()
    } else {
        let file = std::fs::File::open(Path::new(path)).with_context(|| format!("cannot open {path}"))?;
        file.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes).with_context(|| format!("cannot read {path}"))?;
        path.to_owned()
    };
    anyhow::ensure!(bytes.len() as u64 <= MAX_INPUT_BYTES, "{name}: larger than {} MiB", MAX_INPUT_BYTES >> 20);
    Ok(InputDocument { name, bytes })
}
