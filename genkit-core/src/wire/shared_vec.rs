//! [`SharedVec`]: a vector whose holders share one storage and append to it in place.
//!
//! This is the one module of the crate with `unsafe` code: a contiguous slice that several
//! holders read while one of them appends cannot be expressed with `Arc<Vec<T>>` (appending
//! needs `&mut Vec`) nor with per-slot cells (no `&[T]` over them). It has no dependency on the
//! rest of the crate, so its tests run under Miri on their own.

use std::marker::PhantomData;
use std::mem::ManuallyDrop;
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// A view of `start..end` of a shared storage.
///
/// Cloning is a reference count. A holder appends in place when nobody has appended past its
/// own end (its view ends where the storage's initialized slots end, and there is room);
/// otherwise it copies its view into a storage of its own first. A slot, once initialized and
/// visible to a view, is never written again while the storage is shared, which is what makes
/// `Deref<Target = [T]>` sound while another holder appends.
pub(crate) struct SharedVec<T> {
    buf: Option<Arc<Buf<T>>>,
    start: usize,
    end: usize,
}

/// A vector's allocation whose first `len` slots are initialized.
struct Buf<T> {
    ptr: NonNull<T>,
    cap: usize,
    /// Initialized slots. While shared it only grows, by one compare-and-swap per append: the
    /// winner owns the slot it claimed and writes it before its view (the only one that can
    /// see the slot) is extended.
    len: AtomicUsize,
    /// Owns `T`s (for the drop check).
    _owns: PhantomData<T>,
}

// SAFETY: a `Buf` owns its `T`s like a `Vec<T>` does; shared access only reads initialized
// slots (`&T` from several threads needs `T: Sync`) and moves a `T` in through the claimed
// slot (needs `T: Send`); dropping the last holder drops the `T`s, possibly on another thread.
#[allow(unsafe_code)]
unsafe impl<T: Send + Sync> Send for Buf<T> {}
// SAFETY: as above.
#[allow(unsafe_code)]
unsafe impl<T: Send + Sync> Sync for Buf<T> {}

#[allow(unsafe_code)]
impl<T> Buf<T> {
    fn from_vec(vec: Vec<T>) -> Self {
        let mut vec = ManuallyDrop::new(vec);
        Self {
            // SAFETY: a vector's pointer is never null (dangling when it has no allocation)
            ptr: unsafe { NonNull::new_unchecked(vec.as_mut_ptr()) },
            cap: vec.capacity(),
            len: AtomicUsize::new(vec.len()),
            _owns: PhantomData,
        }
    }

    /// The storage as the vector it came from (its initialized slots).
    fn into_vec(self) -> Vec<T> {
        let mut this = ManuallyDrop::new(self);
        let len = *this.len.get_mut();
        // SAFETY: `ptr` and `cap` are a vector's, `len` slots of it initialized; `this` is not
        // dropped, so the vector is the only owner
        unsafe { Vec::from_raw_parts(this.ptr.as_ptr(), len, this.cap) }
    }

    /// Runs `f` on the storage as a vector (only holder: `&mut self`).
    fn with_vec<R>(&mut self, f: impl FnOnce(&mut Vec<T>) -> R) -> R {
        let len = *self.len.get_mut();
        // SAFETY: `ptr` and `cap` are a vector's, `len` slots of it initialized. The vector
        // is never dropped: `Restore` writes its parts back, also when `f` unwinds (a vector
        // keeps its invariants under a panic), so the allocation keeps one owner.
        let vec =
            ManuallyDrop::new(unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), len, self.cap) });
        let mut restore = Restore { buf: self, vec };
        f(&mut restore.vec)
    }

    /// The slots `start..end`.
    ///
    /// # Safety
    /// `start <= end <= len` (initialized), and no `&mut` to them exists.
    unsafe fn slice(&self, start: usize, end: usize) -> &[T] {
        // SAFETY: by the caller
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().add(start), end - start) }
    }

    /// Claims slot `at` and moves `value` into it, when `at` is the first uninitialized slot
    /// and there is room; gives `value` back otherwise.
    fn try_append(&self, at: usize, value: T) -> Result<(), T> {
        if at >= self.cap {
            return Err(value);
        }
        match self
            .len
            .compare_exchange(at, at + 1, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => {
                // SAFETY: `at < cap`, and the swap made this caller the only one to claim slot
                // `at`: no view reaches it before the caller extends its own after this write.
                // Writing cannot panic, so the claimed slot is always initialized.
                unsafe { self.ptr.as_ptr().add(at).write(value) };
                Ok(())
            }
            Err(_) => Err(value),
        }
    }
}

/// Writes a vector's parts back into the storage they were taken from (see `Buf::with_vec`).
struct Restore<'a, T> {
    buf: &'a mut Buf<T>,
    vec: ManuallyDrop<Vec<T>>,
}

impl<T> Drop for Restore<'_, T> {
    fn drop(&mut self) {
        // SAFETY: a vector's pointer is never null (dangling when it has no allocation)
        #[allow(unsafe_code)]
        let ptr = unsafe { NonNull::new_unchecked(self.vec.as_mut_ptr()) };
        self.buf.ptr = ptr;
        self.buf.cap = self.vec.capacity();
        *self.buf.len.get_mut() = self.vec.len();
    }
}

impl<T> Drop for Buf<T> {
    fn drop(&mut self) {
        let len = *self.len.get_mut();
        // SAFETY: the storage's parts, `len` slots initialized, and this is its last owner
        #[allow(unsafe_code)]
        drop(unsafe { Vec::from_raw_parts(self.ptr.as_ptr(), len, self.cap) });
    }
}

/// The capacity of a copy that will grow: doubling keeps appends amortized O(1).
fn grown(len: usize) -> usize {
    len.saturating_mul(2).max(4)
}

impl<T> SharedVec<T> {
    /// Nothing, without an allocation.
    pub(crate) const fn new() -> Self {
        Self {
            buf: None,
            start: 0,
            end: 0,
        }
    }

    /// Whether `a` and `b` view the same slots of the same storage.
    pub(crate) fn ptr_eq(a: &Self, b: &Self) -> bool {
        (a.start, a.end) == (b.start, b.end)
            && match (&a.buf, &b.buf) {
                (Some(x), Some(y)) => Arc::ptr_eq(x, y),
                (None, None) => true,
                _ => false,
            }
    }

    /// How many leading elements `a` and `b` read from the same slots of the same storage
    /// (equal without looking at them).
    pub(crate) fn shared_prefix(a: &Self, b: &Self) -> usize {
        match (&a.buf, &b.buf) {
            (Some(x), Some(y)) if Arc::ptr_eq(x, y) && a.start == b.start => {
                (a.end - a.start).min(b.end - b.start)
            }
            _ => 0,
        }
    }

    /// The storage when this view is its only holder, with the slots past the view (appended
    /// by holders since dropped) discarded, so that the view ends where the storage does.
    fn own(&mut self) -> Option<&mut Buf<T>> {
        let end = self.end;
        let buf = Arc::get_mut(self.buf.as_mut()?)?;
        if *buf.len.get_mut() > end {
            buf.with_vec(|v| v.truncate(end));
        }
        Some(buf)
    }

    /// Removes the last `len() - len` elements (none when `len >= len()`).
    pub(crate) fn truncate(&mut self, len: usize) {
        if len < self.end - self.start {
            self.end = self.start + len;
            // drop them now when nobody else sees them
            let _ = self.own();
        }
    }

    /// Removes the first `n` elements (all when there are fewer). No copy: the view starts
    /// later, and the storage keeps them for [`prepend`](Self::prepend).
    pub(crate) fn drop_first(&mut self, n: usize) {
        self.start += n.min(self.end - self.start);
    }
}

impl<T: Clone> SharedVec<T> {
    /// Appends `value`: in place when nobody appended past this view, into a copy otherwise.
    pub(crate) fn push(&mut self, value: T) {
        let end = self.end;
        if let Some(buf) = self.own() {
            buf.with_vec(|v| v.push(value));
            self.end = end + 1;
            return;
        }
        let value = match &self.buf {
            Some(buf) => match buf.try_append(end, value) {
                Ok(()) => {
                    self.end = end + 1;
                    return;
                }
                Err(value) => value,
            },
            None => value,
        };
        let mut copy = Vec::with_capacity(grown(self.len() + 1));
        copy.extend_from_slice(self);
        copy.push(value);
        *self = Self::from(copy);
    }

    /// Removes the last element: moved out when this view is the storage's only holder,
    /// cloned otherwise.
    pub(crate) fn pop(&mut self) -> Option<T> {
        if self.start == self.end {
            return None;
        }
        let end = self.end;
        if let Some(buf) = self.own() {
            let last = buf.with_vec(Vec::pop);
            self.end = end - 1;
            return last;
        }
        let last = self.last().cloned();
        self.end = end - 1;
        last
    }

    /// The elements, to change in place; copied first when another holder shares them.
    pub(crate) fn make_mut(&mut self) -> &mut [T] {
        if self.own().is_none() && self.buf.is_some() {
            *self = Self::from(self.to_vec());
        }
        let (start, end) = (self.start, self.end);
        match self.own() {
            // SAFETY: the only holder (`own`), `start <= end == len`, borrowed mutably for as
            // long as `self` is
            #[allow(unsafe_code)]
            Some(buf) => unsafe {
                std::slice::from_raw_parts_mut(buf.ptr.as_ptr().add(start), end - start)
            },
            None => &mut [],
        }
    }

    /// Puts `preamble` before the elements. When the storage holds exactly these elements
    /// just before the view (a view that [`drop_first`](Self::drop_first) shortened by the
    /// same preamble), the view widens over them; otherwise the elements are copied behind a
    /// copy of the preamble.
    pub(crate) fn prepend(&mut self, preamble: &[T])
    where
        T: PartialEq,
    {
        let n = preamble.len();
        if n == 0 {
            return;
        }
        if let Some(buf) = &self.buf {
            if self.start >= n {
                // SAFETY: `start - n < start <= end <= len`: initialized, and slots before a
                // view's start are never written while the storage lives
                #[allow(unsafe_code)]
                let before = unsafe { buf.slice(self.start - n, self.start) };
                if before == preamble {
                    self.start -= n;
                    return;
                }
            }
        }
        let mut copy = Vec::with_capacity(grown(n + self.len()));
        copy.extend_from_slice(preamble);
        copy.extend_from_slice(self);
        *self = Self::from(copy);
    }

    /// The elements as a vector: moved out when this view is the storage's only holder,
    /// copied otherwise.
    pub(crate) fn into_vec(mut self) -> Vec<T> {
        let start = self.start;
        if self.own().is_some() {
            if let Some(buf) = self.buf.take().and_then(|b| Arc::try_unwrap(b).ok()) {
                let mut vec = buf.into_vec();
                vec.drain(..start);
                return vec;
            }
        }
        self.to_vec()
    }
}

impl<T> Default for SharedVec<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> Clone for SharedVec<T> {
    fn clone(&self) -> Self {
        Self {
            buf: self.buf.clone(),
            start: self.start,
            end: self.end,
        }
    }
}

impl<T> From<Vec<T>> for SharedVec<T> {
    fn from(vec: Vec<T>) -> Self {
        let end = vec.len();
        Self {
            buf: Some(Arc::new(Buf::from_vec(vec))),
            start: 0,
            end,
        }
    }
}

impl<T> Deref for SharedVec<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.buf {
            // SAFETY: `start <= end <= len` for every view (views only grow by slots they
            // initialized, and shrink by moving their bounds); a `&mut` to the slots exists
            // only through `make_mut`, which borrows the only holder mutably
            #[allow(unsafe_code)]
            Some(buf) => unsafe { buf.slice(self.start, self.end) },
            None => &[],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::thread;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_unshared_view_appends_in_place() {
        let mut v = SharedVec::from(strings(&["a"]));
        v.push("b".into());
        v.push("c".into());
        assert_eq!(&*v, strings(&["a", "b", "c"]).as_slice());
        let p = v.as_ptr();
        v.push("d".into()); // capacity 4 after the vector's growth
        assert_eq!(v.as_ptr(), p);
    }

    #[test]
    fn a_shared_view_appends_in_place_and_the_other_holders_do_not_see_it() {
        let mut v = SharedVec::from(Vec::with_capacity(8));
        v.push("a".to_string());
        let kept = v.clone();
        v.push("b".into());
        assert_eq!(v.as_ptr(), kept.as_ptr(), "no copy");
        assert_eq!(&*kept, strings(&["a"]).as_slice());
        assert_eq!(&*v, strings(&["a", "b"]).as_slice());

        // the other holder appends after `v` did: it copies, and neither sees the other's
        let mut other = kept.clone();
        other.push("x".into());
        assert_ne!(other.as_ptr(), kept.as_ptr());
        assert_eq!(&*other, strings(&["a", "x"]).as_slice());
        assert_eq!(&*v, strings(&["a", "b"]).as_slice());
        assert_eq!(&*kept, strings(&["a"]).as_slice());
    }

    #[test]
    fn a_full_shared_storage_is_copied_into_a_larger_one() {
        let mut v = SharedVec::from(strings(&["a", "b"]));
        let kept = v.clone();
        v.push("c".into());
        assert_ne!(v.as_ptr(), kept.as_ptr());
        let p = v.as_ptr();
        let kept2 = v.clone();
        v.push("d".into()); // room in the copy: in place although shared
        assert_eq!(v.as_ptr(), p);
        assert_eq!(kept2.len(), 3);
        assert_eq!(&*v, strings(&["a", "b", "c", "d"]).as_slice());
    }

    #[test]
    fn slots_appended_by_a_dropped_holder_are_reused() {
        let mut v = SharedVec::from(Vec::with_capacity(4));
        v.push("a".to_string());
        let mut ahead = v.clone();
        ahead.push("lost".into());
        drop(ahead);
        v.push("b".into());
        assert_eq!(&*v, strings(&["a", "b"]).as_slice());
    }

    #[test]
    fn drop_first_and_prepend_widen_over_the_same_slots() {
        let mut v = SharedVec::from(strings(&["system", "hi", "hello"]));
        let p = v.as_ptr();
        v.drop_first(1);
        assert_eq!(&*v, strings(&["hi", "hello"]).as_slice());
        let saved = v.clone();
        v.prepend(&strings(&["system"]));
        assert_eq!(v.as_ptr(), p, "widened, not copied");
        assert_eq!(v.len(), 3);
        let mut other = saved.clone();
        other.prepend(&strings(&["another"]));
        assert_eq!(&*other, strings(&["another", "hi", "hello"]).as_slice());
        assert_eq!(&*saved, strings(&["hi", "hello"]).as_slice());
    }

    #[test]
    fn truncate_make_mut_and_into_vec() {
        let mut v = SharedVec::from(strings(&["a", "b", "c"]));
        let kept = v.clone();
        v.truncate(1);
        assert_eq!(&*v, strings(&["a"]).as_slice());
        v.make_mut()[0] = "A".into();
        assert_eq!(
            &*kept,
            strings(&["a", "b", "c"]).as_slice(),
            "copied on write"
        );
        assert_eq!(v.clone().into_vec(), strings(&["A"]));
        let mut shared = kept.clone();
        assert_eq!(shared.pop().as_deref(), Some("c"), "cloned out");
        assert_eq!(kept.len(), 3);
        let p = v.as_ptr();
        let moved = v.into_vec();
        assert_eq!(moved.as_ptr(), p, "the only holder moves its vector out");
        let mut w = SharedVec::from(strings(&["x", "y"]));
        w.drop_first(1);
        assert_eq!(w.into_vec(), strings(&["y"]));
        let empty: SharedVec<String> = SharedVec::new();
        assert!(empty.is_empty());
        assert!(empty.into_vec().is_empty());
    }

    #[test]
    fn holders_on_several_threads_append_without_seeing_each_other() {
        let mut base = SharedVec::from(Vec::with_capacity(64));
        base.push("base".to_string());
        let handles: Vec<_> = (0..4)
            .map(|t| {
                let mut mine = base.clone();
                thread::spawn(move || {
                    for i in 0..20 {
                        mine.push(format!("{t}.{i}"));
                        let _ = mine.clone();
                    }
                    mine
                })
            })
            .collect();
        for (t, h) in handles.into_iter().enumerate() {
            let mine = h.join().unwrap();
            assert_eq!(mine.len(), 21);
            assert_eq!(mine[0], "base");
            for i in 0..20 {
                assert_eq!(mine[i + 1], format!("{t}.{i}"));
            }
        }
        assert_eq!(&*base, strings(&["base"]).as_slice());
    }

    #[test]
    fn a_change_that_panics_leaves_a_consistent_storage() {
        struct Loud(bool);
        impl Clone for Loud {
            fn clone(&self) -> Self {
                Loud(false)
            }
        }
        impl Drop for Loud {
            fn drop(&mut self) {
                if self.0 {
                    panic!("boom");
                }
            }
        }
        let mut v = SharedVec::from(vec![Loud(false), Loud(true), Loud(false)]);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| v.truncate(1)));
        assert!(r.is_err());
        assert_eq!(v.len(), 1);
        v.push(Loud(false));
        assert_eq!(v.len(), 2);
    }
}
