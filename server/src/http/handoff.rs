//! The hand-over between the transport's event loop and its workers, built so that a request
//! costs as few thread wake-ups as it can: the loop wakes for the request, one worker wakes to
//! serve it, and nobody wakes for the connection's return.
//!
//! - [`Jobs`]: a bounded queue that wakes exactly one idle worker per job, and never spins.
//!   (A channel's receiver shared behind a mutex woke two threads per job; a lock-free channel
//!   spun in `sched_yield` before parking, on a machine with two cores.)
//! - [`Returns`]: connections coming back to the loop. The loop is woken only when it is
//!   waiting for the one coming back, that is when the connection became readable while a
//!   worker had it; otherwise the loop takes it back the next time it wakes for anything.

use std::collections::{HashSet, VecDeque};
use std::sync::{Condvar, Mutex, MutexGuard};

use mio::Token;

/// A bounded multi-consumer queue.
#[derive(Debug)]
pub struct Jobs<T> {
    state: Mutex<Queue<T>>,
    /// Signalled when a job is queued or the queue closes.
    filled: Condvar,
    /// Signalled when a job is taken.
    emptied: Condvar,
    capacity: usize,
}

#[derive(Debug)]
struct Queue<T> {
    jobs: VecDeque<T>,
    closed: bool,
    /// Workers waiting for a job, and whether the producer waits for room: a condition
    /// variable is signalled only when somebody waits on it, as each signal is a system call.
    idle: usize,
    full: bool,
}

impl<T> Jobs<T> {
    /// A queue holding at most `capacity` jobs (at least one).
    pub fn new(capacity: usize) -> Jobs<T> {
        Jobs {
            state: Mutex::new(Queue {
                jobs: VecDeque::new(),
                closed: false,
                idle: 0,
                full: false,
            }),
            filled: Condvar::new(),
            emptied: Condvar::new(),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues `job`, waiting while the queue is full; gives it back if the queue is closed.
    pub fn push(&self, job: T) -> Result<(), T> {
        let mut queue = self.lock();
        while queue.jobs.len() >= self.capacity && !queue.closed {
            queue.full = true;
            queue = self.emptied.wait(queue).unwrap_or_else(|e| e.into_inner());
        }
        queue.full = false;
        if queue.closed {
            return Err(job);
        }
        queue.jobs.push_back(job);
        let wake = queue.idle > 0;
        drop(queue);
        if wake {
            self.filled.notify_one();
        }
        Ok(())
    }

    /// The next job, waiting for one; `None` once the queue is closed and empty.
    pub fn pop(&self) -> Option<T> {
        let mut queue = self.lock();
        loop {
            if let Some(job) = queue.jobs.pop_front() {
                let wake = queue.full;
                drop(queue);
                if wake {
                    self.emptied.notify_one();
                }
                return Some(job);
            }
            if queue.closed {
                return None;
            }
            queue.idle += 1;
            queue = self.filled.wait(queue).unwrap_or_else(|e| e.into_inner());
            queue.idle -= 1;
        }
    }

    /// No more jobs: waiting workers get what is queued, then `None`.
    pub fn close(&self) {
        self.lock().closed = true;
        self.filled.notify_all();
        self.emptied.notify_all();
    }
}

/// Items coming back to the loop, each under its connection's token.
#[derive(Debug)]
pub struct Returns<T> {
    state: Mutex<Returned<T>>,
}

#[derive(Debug)]
struct Returned<T> {
    items: Vec<(Token, T)>,
    /// Tokens that became readable while away.
    missed: HashSet<Token>,
}

impl<T> Default for Returns<T> {
    fn default() -> Returns<T> {
        Returns {
            state: Mutex::new(Returned {
                items: Vec::new(),
                missed: HashSet::new(),
            }),
        }
    }
}

impl<T> Returns<T> {
    fn lock(&self) -> MutexGuard<'_, Returned<T>> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands `item` back; true when the loop is waiting for it and must be woken.
    #[must_use]
    pub fn give_back(&self, token: Token, item: T) -> bool {
        let mut returned = self.lock();
        returned.items.push((token, item));
        returned.missed.contains(&token)
    }

    /// Everything handed back so far, each with whether its connection became readable while
    /// away (and must be read now: its edge has passed).
    pub fn take(&self) -> Vec<(Token, T, bool)> {
        self.lock().drain()
    }

    /// `token` became readable while away. Returns what was handed back so far, as
    /// [`Returns::take`]; when `token` is not among it, it is noted as missed, atomically with
    /// the check, so that its return wakes the loop.
    pub fn miss(&self, token: Token) -> Vec<(Token, T, bool)> {
        let mut returned = self.lock();
        let mut taken = returned.drain();
        match taken.iter_mut().find(|(t, ..)| *t == token) {
            // Its edge is this event: read it now.
            Some(entry) => entry.2 = true,
            None => {
                returned.missed.insert(token);
            }
        }
        taken
    }
}

impl<T> Returned<T> {
    /// Every item, each with whether it was missed (which it no longer is).
    fn drain(&mut self) -> Vec<(Token, T, bool)> {
        let items = std::mem::take(&mut self.items);
        items
            .into_iter()
            .map(|(token, item)| (token, item, self.missed.remove(&token)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::thread;

    use super::*;

    #[test]
    fn jobs_are_taken_in_order_and_closing_ends_the_workers() {
        let jobs = Arc::new(Jobs::new(8));
        for i in 0..5 {
            jobs.push(i).unwrap();
        }
        let worker = {
            let jobs = Arc::clone(&jobs);
            thread::spawn(move || std::iter::from_fn(|| jobs.pop()).collect::<Vec<_>>())
        };
        jobs.close();
        assert_eq!(worker.join().unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(jobs.push(9), Err(9), "a closed queue takes nothing");
    }

    #[test]
    fn a_full_queue_holds_the_producer_until_a_job_is_taken() {
        let jobs = Arc::new(Jobs::new(1));
        jobs.push(1).unwrap();
        let producer = {
            let jobs = Arc::clone(&jobs);
            thread::spawn(move || jobs.push(2))
        };
        // The producer can only finish once the first job is taken.
        assert_eq!(jobs.pop(), Some(1));
        producer.join().unwrap().unwrap();
        assert_eq!(jobs.pop(), Some(2));
    }

    #[test]
    fn the_loop_is_woken_only_for_a_connection_it_missed() {
        let returns = Returns::default();
        assert!(!returns.give_back(Token(7), "seven"), "nobody waits for it");
        assert_eq!(returns.take(), vec![(Token(7), "seven", false)]);

        // Readable while away: noted, and its return wakes the loop and must be read.
        assert!(returns.miss(Token(8)).is_empty());
        assert!(returns.give_back(Token(8), "eight"));
        assert_eq!(returns.take(), vec![(Token(8), "eight", true)]);

        // Readable just after its return: the loop takes it back at once, to be read.
        assert!(!returns.give_back(Token(9), "nine"));
        assert_eq!(returns.miss(Token(9)), vec![(Token(9), "nine", true)]);

        // Taking it back forgets it was missed.
        assert!(returns.miss(Token(10)).is_empty());
        assert!(returns.give_back(Token(10), "closed"));
        assert_eq!(returns.take(), vec![(Token(10), "closed", true)]);
        assert!(!returns.give_back(Token(10), "again"));
    }
}
