//! The undo stack of a multi-step operation (`create`, a network's
//! `reattach`): every step that changes the system pushes the closure that
//! reverts it; a failure runs them newest first and reports both the failure
//! and anything that could not be undone.

/// One undo action, given the context `C`; `Err` says what could not be undone.
pub type UndoFn<C> = Box<dyn FnOnce(&C) -> Result<(), String>>;

/// Steps done so far.
pub struct UndoStack<C> {
    steps: Vec<(&'static str, UndoFn<C>)>,
}

impl<C> Default for UndoStack<C> {
    fn default() -> Self {
        UndoStack { steps: Vec::new() }
    }
}

impl<C> UndoStack<C> {
    /// Records how to undo step `what`.
    pub fn push(&mut self, what: &'static str, f: impl FnOnce(&C) -> Result<(), String> + 'static) {
        self.steps.push((what, Box::new(f)));
    }

    /// How many undo actions are stacked.
    pub fn len(&self) -> usize {
        self.steps.len()
    }

    /// Whether nothing is stacked.
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Runs every action, newest first; returns the failures as
    /// `what: message`.
    pub fn unwind(self, ctx: &C) -> Vec<String> {
        self.steps
            .into_iter()
            .rev()
            .filter_map(|(what, f)| f(ctx).err().map(|e| format!("{what}: {e}")))
            .collect()
    }

    /// Forgets every action (the operation succeeded).
    pub fn commit(self) {}
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[test]
    fn unwinds_newest_first_and_collects_failures() {
        let log = Rc::new(RefCell::new(Vec::new()));
        let mut u: UndoStack<()> = UndoStack::default();
        for i in 0..3 {
            let l = log.clone();
            u.push("step", move |_| {
                l.borrow_mut().push(i);
                if i == 1 {
                    Err("busy".into())
                } else {
                    Ok(())
                }
            });
        }
        assert_eq!(u.len(), 3);
        let failed = u.unwind(&());
        assert_eq!(*log.borrow(), vec![2, 1, 0]);
        assert_eq!(failed, vec!["step: busy"]);
    }

    #[test]
    fn commit_runs_nothing() {
        let ran = Rc::new(RefCell::new(false));
        let mut u: UndoStack<()> = UndoStack::default();
        let r = ran.clone();
        u.push("x", move |_| {
            *r.borrow_mut() = true;
            Ok(())
        });
        u.commit();
        assert!(!*ran.borrow());
    }
}
