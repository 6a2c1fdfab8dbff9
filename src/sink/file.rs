//! JSON Lines to a file or standard output.

use std::fs::File;
use std::io::{self, BufWriter, Write};

/// A buffered line writer over a file or standard output (`-`).
pub struct LineSink {
    out: Box<dyn Write>,
}

impl LineSink {
    pub fn open(path: &str) -> io::Result<Self> {
        let out: Box<dyn Write> = if path == "-" {
            Box::new(BufWriter::new(io::stdout().lock()))
        } else {
            Box::new(BufWriter::new(File::create(path)?))
        };
        Ok(LineSink { out })
    }

    pub fn stderr() -> Self {
        LineSink {
            out: Box::new(io::stderr()),
        }
    }

    pub fn write_line(&mut self, line: &[u8]) -> io::Result<()> {
        self.out.write_all(line)?;
        self.out.write_all(b"\n")
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
