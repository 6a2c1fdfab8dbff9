//! Messages from files: JSON Lines (one payload per line), a directory (one payload per file,
//! in name order), or a single raw file; `-` is standard input.

use std::fs;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use super::{Message, Origin};

/// How to cut the input into messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// One message per line (blank lines skipped). `.gz` files are decompressed.
    Jsonl,
    /// The whole file is one message.
    Raw,
}

/// Read every message of `input`. A directory is always read as one message per file.
pub fn read_messages(
    input: &str,
    format: InputFormat,
) -> io::Result<Box<dyn Iterator<Item = io::Result<Message>>>> {
    if input == "-" {
        let stdin = io::stdin();
        return Ok(match format {
            InputFormat::Raw => {
                let mut buf = Vec::new();
                stdin.lock().read_to_end(&mut buf)?;
                Box::new(std::iter::once(Ok(Message {
                    payload: buf,
                    origin: Origin::File {
                        path: "-".into(),
                        line: None,
                    },
                })))
            }
            InputFormat::Jsonl => lines(Box::new(BufReader::new(stdin)), "-".into()),
        });
    }
    let path = Path::new(input);
    if path.is_dir() {
        let mut files: Vec<PathBuf> = fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && !is_hidden_or_notes(p))
            .collect();
        files.sort();
        return Ok(Box::new(files.into_iter().map(|p| {
            Ok(Message {
                payload: fs::read(&p)?,
                origin: Origin::File {
                    path: p.display().to_string(),
                    line: None,
                },
            })
        })));
    }
    match format {
        InputFormat::Raw => Ok(Box::new(std::iter::once(Ok(Message {
            payload: fs::read(path)?,
            origin: Origin::File {
                path: input.into(),
                line: None,
            },
        })))),
        InputFormat::Jsonl => {
            let file = fs::File::open(path)?;
            let reader: Box<dyn BufRead> = if input.ends_with(".gz") {
                Box::new(BufReader::new(flate2::read::MultiGzDecoder::new(file)))
            } else {
                Box::new(BufReader::new(file))
            };
            Ok(lines(reader, input.into()))
        }
    }
}

/// Provenance and licence notes that sit beside fixtures are not stories.
fn is_hidden_or_notes(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with('.') || name == "PROVENANCE.md" || name == "LICENSE"
}

/// Lines as raw bytes, so invalid UTF-8 reaches the decoder (and its precise rejection)
/// instead of failing the whole read.
fn lines(
    mut reader: Box<dyn BufRead>,
    path: String,
) -> Box<dyn Iterator<Item = io::Result<Message>>> {
    let mut line_no = 0usize;
    Box::new(std::iter::from_fn(move || loop {
        let mut buf = Vec::new();
        match reader.read_until(b'\n', &mut buf) {
            Ok(0) => return None,
            Ok(_) => {
                line_no += 1;
                while matches!(buf.last(), Some(b'\n' | b'\r')) {
                    buf.pop();
                }
                if buf.iter().all(|b| b.is_ascii_whitespace()) {
                    continue;
                }
                return Some(Ok(Message {
                    payload: buf,
                    origin: Origin::File {
                        path: path.clone(),
                        line: Some(line_no),
                    },
                }));
            }
            Err(e) => return Some(Err(e)),
        }
    }))
}
