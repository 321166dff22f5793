//! The memory that request bodies may hold while they arrive, shared by every event loop.
//!
//! A body reserves room as its bytes come, never ahead of them: a client that declares a
//! large body, or sends a chunked head, and then stalls holds only what it has sent, so it
//! cannot starve the bodies of other connections. A reservation is a guard: dropping it, on
//! whichever path the connection ends, gives its room back.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Bytes of request bodies held in all, within a fixed capacity.
#[derive(Debug)]
pub struct Budget {
    held: AtomicUsize,
    capacity: usize,
}

impl Budget {
    pub fn new(capacity: usize) -> Arc<Budget> {
        Arc::new(Budget {
            held: AtomicUsize::new(0),
            capacity,
        })
    }

    /// Bytes reserved now, in all.
    pub fn held(&self) -> usize {
        self.held.load(Ordering::Acquire)
    }
}

/// Room one body holds in the [`Budget`], given back on drop.
#[derive(Debug)]
pub struct Reservation {
    budget: Arc<Budget>,
    bytes: usize,
}

impl Reservation {
    /// An empty reservation in `budget`.
    pub fn new(budget: &Arc<Budget>) -> Reservation {
        Reservation {
            budget: Arc::clone(budget),
            bytes: 0,
        }
    }

    /// The room held.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// Grows the room held to `bytes`; false, holding what it held, while the budget has no
    /// room for that.
    pub fn grow_to(&mut self, bytes: usize) -> bool {
        let more = bytes.saturating_sub(self.bytes);
        if more == 0 {
            return true;
        }
        let capacity = self.budget.capacity;
        let fits = self
            .budget
            .held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |held| {
                held.checked_add(more).filter(|total| *total <= capacity)
            })
            .is_ok();
        if fits {
            self.bytes = bytes;
        }
        fits
    }
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.held.fetch_sub(self.bytes, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_grow_within_the_capacity_and_give_back_on_drop() {
        let budget = Budget::new(100);
        let mut a = Reservation::new(&budget);
        let mut b = Reservation::new(&budget);
        assert!(a.grow_to(60));
        assert!(!b.grow_to(50), "past the capacity");
        assert_eq!((b.bytes(), budget.held()), (0, 60));
        assert!(b.grow_to(40));
        assert!(a.grow_to(30), "asking for less keeps what is held");
        assert_eq!(budget.held(), 100);
        drop(a);
        assert_eq!(budget.held(), 40);
        drop(b);
        assert_eq!(budget.held(), 0);
    }
}
