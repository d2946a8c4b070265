//! How transfers report: bars on a terminal (one per file in flight and a total, bytes/s and
//! ETA), plain lines when stderr is not a terminal, nothing with `--quiet`. Machine-readable
//! summaries (`--json`) go to stdout, never mixed with this.

use crate::output::words::many;
use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Quiet,
}

impl Mode {
    pub fn pick(quiet: bool, json: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stderr().is_terminal() && !json {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

pub struct Progress {
    mode: Mode,
    multi: MultiProgress,
    total: ProgressBar,
    lines: Mutex<()>,
    /// `--limit-rate`: bytes per second over all transfers, and what moved since when.
    rate: Option<(u64, Mutex<(Instant, u64)>)>,
}

/// One file's bar (a no-op outside `Mode::Bars`).
pub struct FileBar {
    bar: Option<ProgressBar>,
}

impl FileBar {
    pub fn inc(&self, n: u64) {
        if let Some(b) = &self.bar {
            b.inc(n);
        }
    }
}

impl Drop for FileBar {
    fn drop(&mut self) {
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Progress {
    /// `verb` is what is done ("store", "fetch"); `bytes` the total to move.
    pub fn new(mode: Mode, verb: &str, files: usize, bytes: u64) -> Progress {
        let multi = MultiProgress::with_draw_target(if mode == Mode::Bars {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        });
        let total = multi.add(ProgressBar::new(bytes));
        total.set_style(
            ProgressStyle::with_template(
                "{prefix:>6} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec} ETA {eta} {msg}",
            )
            .unwrap()
            .progress_chars("=> "),
        );
        total.set_prefix(verb.to_string());
        total.set_message(format!("0/{}", many(files, "file")));
        Progress {
            mode,
            multi,
            total,
            lines: Mutex::new(()),
            rate: None,
        }
    }

    /// Keeps all transfers together at or under `bytes_per_sec` (`--limit-rate`).
    pub fn with_rate_limit(mut self, bytes_per_sec: Option<u64>) -> Progress {
        self.rate = bytes_per_sec
            .filter(|r| *r > 0)
            .map(|r| (r, Mutex::new((Instant::now(), 0))));
        self
    }

    /// A bar for one file of `size` bytes, while it moves.
    pub fn file(&self, name: &str, size: u64) -> FileBar {
        if self.mode != Mode::Bars {
            return FileBar { bar: None };
        }
        let bar = self
            .multi
            .insert_before(&self.total, ProgressBar::new(size));
        bar.set_style(
            ProgressStyle::with_template(
                "  {wide_msg} [{bar:20}] {bytes}/{total_bytes} {binary_bytes_per_sec}",
            )
            .unwrap()
            .progress_chars("=> "),
        );
        bar.set_message(name.to_string());
        FileBar { bar: Some(bar) }
    }

    /// Bytes moved (any file); sleeps while the transfers are ahead of `--limit-rate`.
    pub fn bytes(&self, n: u64) {
        self.total.inc(n);
        if let Some((rate, moved)) = &self.rate {
            let ahead = {
                let mut m = moved.lock().unwrap();
                m.1 += n;
                Duration::from_secs_f64(m.1 as f64 / *rate as f64).saturating_sub(m.0.elapsed())
            };
            if !ahead.is_zero() {
                std::thread::sleep(ahead);
            }
        }
    }

    /// Bytes that need not move (parts S3 holds already): the total bar only.
    pub fn skipped(&self, n: u64) {
        self.total.inc(n);
    }

    /// One file done (`done` of `files`): a line outside bar mode.
    pub fn done(&self, line: &str, done: usize, files: usize) {
        self.total
            .set_message(format!("{done}/{}", many(files, "file")));
        self.say(line);
    }

    /// A line that is always worth showing (not in quiet mode).
    pub fn say(&self, line: &str) {
        match self.mode {
            Mode::Bars => self.multi.suspend(|| eprintln!("{line}")),
            Mode::Lines => {
                let _g = self.lines.lock().unwrap();
                eprintln!("{line}");
            }
            Mode::Quiet => {}
        }
    }

    pub fn finish(&self) {
        self.total.finish_and_clear();
    }
}
