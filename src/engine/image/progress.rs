//! Pull progress: bars (indicatif) on a terminal, one line per layer
//! otherwise, or nothing (`--quiet`).

use std::io::{self, Read};
use std::time::Instant;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::image::digest::Digest;

/// How progress is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One bar per layer (a terminal).
    Bars,
    /// One line per finished layer.
    Lines,
    /// Nothing.
    Quiet,
}

/// The progress of one layer.
pub trait LayerProgress: Send + Sync {
    /// `n` more bytes arrived.
    fn inc(&self, n: u64);
    /// The layer is done; `status` says how.
    fn finish(&self, status: &str);
}

/// Where a pull reports.
pub trait Progress: Sync {
    /// A layer of `size` bytes starts.
    fn layer(&self, digest: &Digest, size: u64) -> Box<dyn LayerProgress>;
    /// A free-form status line.
    fn message(&self, msg: &str);
}

/// The reporter for `mode`.
pub fn reporter(mode: Mode) -> Box<dyn Progress> {
    match mode {
        Mode::Bars => Box::new(Bars(MultiProgress::with_draw_target(
            ProgressDrawTarget::stderr(),
        ))),
        Mode::Lines => Box::new(Lines),
        Mode::Quiet => Box::new(Quiet),
    }
}

fn short(d: &Digest) -> String {
    format!("{}:{}", d.algorithm().name(), &d.hex()[..12])
}

/// `12.3 MB`.
pub fn human(bytes: u64) -> String {
    indicatif::DecimalBytes(bytes).to_string()
}

struct Bars(MultiProgress);

impl Progress for Bars {
    fn layer(&self, digest: &Digest, size: u64) -> Box<dyn LayerProgress> {
        let bar = self.0.add(ProgressBar::new(size));
        let style = ProgressStyle::with_template(
            "{prefix} [{bar:30}] {decimal_bytes}/{decimal_total_bytes} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(short(digest));
        Box::new(BarLayer(bar))
    }

    fn message(&self, msg: &str) {
        let _ = self.0.println(msg);
    }
}

struct BarLayer(ProgressBar);

impl LayerProgress for BarLayer {
    fn inc(&self, n: u64) {
        self.0.inc(n);
    }

    fn finish(&self, status: &str) {
        self.0.finish_with_message(status.to_string());
    }
}

struct Lines;

impl Progress for Lines {
    fn layer(&self, digest: &Digest, size: u64) -> Box<dyn LayerProgress> {
        Box::new(LineLayer {
            name: short(digest),
            size,
            start: Instant::now(),
        })
    }

    fn message(&self, msg: &str) {
        eprintln!("{msg}");
    }
}

struct LineLayer {
    name: String,
    size: u64,
    start: Instant,
}

impl LayerProgress for LineLayer {
    fn inc(&self, _n: u64) {}

    fn finish(&self, status: &str) {
        let secs = self.start.elapsed().as_secs_f64();
        eprintln!("{}: {status} ({}, {secs:.2}s)", self.name, human(self.size));
    }
}

struct Quiet;

impl Progress for Quiet {
    fn layer(&self, _digest: &Digest, _size: u64) -> Box<dyn LayerProgress> {
        Box::new(QuietLayer)
    }

    fn message(&self, _msg: &str) {}
}

struct QuietLayer;

impl LayerProgress for QuietLayer {
    fn inc(&self, _n: u64) {}
    fn finish(&self, _status: &str) {}
}

/// A reader that reports every read to a layer's progress.
pub struct Counting<'a, R> {
    /// The source.
    pub inner: R,
    /// Where to report.
    pub progress: &'a dyn LayerProgress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(n as u64);
        Ok(n)
    }
}
