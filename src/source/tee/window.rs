//! What memory holds of one download, and where each reader of it is: the chunks in the window,
//! the readers' positions, and the questions the download and the readers ask of them.

use std::collections::VecDeque;

use bytes::Bytes;

/// The window and the readers' positions, under the [`super::Tee`]'s lock.
pub(super) struct State {
    /// The chunks in memory by offset, contiguous, ending at `received`.
    pub(super) chunks: VecDeque<(u64, Bytes)>,
    pub(super) received: u64,
    /// How the download ended: `Err` says why it failed.
    pub(super) end: Option<Result<(), String>>,
    /// Readers expected but not claimed yet: each still needs everything from 0.
    pub(super) unclaimed: usize,
    /// Each claimed reader's position; `None` once it was dropped.
    pub(super) positions: Vec<Option<u64>>,
    /// Bytes written to the spill file.
    pub(super) spilled: u64,
    /// The most bytes memory held at once.
    pub(super) peak: u64,
    /// The download waits for a reader to move on.
    pub(super) filler_waiting: bool,
    /// The spill budget ran out for this blob (said once in the log).
    pub(super) limited: bool,
}

impl State {
    /// Nothing received yet, `readers` expected.
    pub(super) fn new(readers: usize) -> State {
        State {
            chunks: VecDeque::new(),
            received: 0,
            end: None,
            unclaimed: readers,
            positions: Vec::with_capacity(readers),
            spilled: 0,
            peak: 0,
            filler_waiting: false,
            limited: false,
        }
    }

    /// Where memory starts: bytes before it were spilled for whoever still needs them, or dropped.
    pub(super) fn start(&self) -> u64 {
        self.chunks
            .front()
            .map_or(self.received, |(offset, _)| *offset)
    }

    /// The bytes memory holds.
    pub(super) fn held(&self) -> u64 {
        self.received - self.start()
    }

    /// The lowest offset a reader still needs; `None` when no reader needs anything more.
    pub(super) fn needed_from(&self) -> Option<u64> {
        if self.unclaimed > 0 {
            return Some(0);
        }
        self.positions.iter().flatten().min().copied()
    }

    /// Whether the download should wait: memory is full and every claimed reader still has
    /// bytes to read (none is waiting for more).
    pub(super) fn full_and_all_busy(&self, window: u64) -> bool {
        let mut claimed = self.positions.iter().flatten().peekable();
        self.held() >= window && claimed.peek().is_some() && claimed.all(|p| *p < self.received)
    }

    /// Whether what memory holds is only for readers not opened yet: the download is over and
    /// every claimed reader has read it all (or stopped).
    pub(super) fn only_unclaimed_left(&self, size: u64) -> bool {
        matches!(self.end, Some(Ok(())))
            && self.unclaimed > 0
            && !self.chunks.is_empty()
            && self.positions.iter().flatten().all(|p| *p >= size)
    }

    /// Drops the chunks every reader has passed.
    pub(super) fn drop_passed(&mut self) {
        let from = self.needed_from().unwrap_or(u64::MAX);
        while let Some((offset, chunk)) = self.chunks.front() {
            if offset + chunk.len() as u64 > from {
                break;
            }
            self.chunks.pop_front();
        }
    }
}

/// The oldest chunks that must leave memory for the rest to fit the window.
pub(super) fn over_window(state: &State, window: u64) -> Vec<(u64, Bytes)> {
    let mut held = state.held();
    let mut leaving = Vec::new();
    for (offset, chunk) in &state.chunks {
        if held <= window {
            break;
        }
        held -= chunk.len() as u64;
        leaving.push((*offset, chunk.clone()));
    }
    leaving
}
