//! Support shared by the fuzz targets.
//!
//! A stack overflow must end as a libFuzzer crash with the input saved. libFuzzer owns `main`,
//! so Rust's runtime never installs its stack-overflow handler: an overflow is a SIGSEGV on a
//! stack with no room left, where libFuzzer's own handler cannot run, and the process dies
//! without writing the input. [`catch_stack_overflows`] installs a SIGSEGV handler that runs on
//! an alternate stack, says what happened and aborts; libFuzzer's SIGABRT handler then saves the
//! input as `crash-<sha1>`. Each thread that may overflow needs its alternate stack
//! ([`alternate_stack`]).

use std::sync::Once;

/// Size of each thread's alternate signal stack.
const ALT_STACK: usize = 64 * 1024;

extern "C" fn on_segv(_: libc::c_int, _: *mut libc::siginfo_t, _: *mut libc::c_void) {
    const MSG: &[u8] = b"\n==fuzz== SIGSEGV (a stack overflow, in safe Rust): aborting so that libFuzzer saves the input\n";
    // SAFETY: write(2) and abort(3) are async-signal-safe.
    unsafe {
        libc::write(2, MSG.as_ptr().cast(), MSG.len());
        libc::abort();
    }
}

/// Installs the SIGSEGV/SIGBUS handler (before libFuzzer installs its own, which then keeps
/// it as the one to call) and the calling thread's alternate stack. Call from `init:`.
pub fn catch_stack_overflows() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        for signal in [libc::SIGSEGV, libc::SIGBUS] {
            // SAFETY: a zeroed sigaction is valid; the handler only calls async-signal-safe
            // functions.
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_segv as *const () as usize;
                action.sa_flags = libc::SA_SIGINFO | libc::SA_ONSTACK;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(signal, &action, std::ptr::null_mut());
            }
        }
    });
    // the main thread's, for good
    std::mem::forget(alternate_stack());
}

/// The calling thread's alternate signal stack, while this lives.
pub struct AlternateStack {
    _stack: Box<[u8]>,
}

/// Gives the calling thread an alternate signal stack; keep the value alive while the thread
/// runs code that may overflow.
pub fn alternate_stack() -> AlternateStack {
    let mut stack = vec![0u8; ALT_STACK].into_boxed_slice();
    let ss = libc::stack_t {
        ss_sp: stack.as_mut_ptr().cast(),
        ss_flags: 0,
        ss_size: stack.len(),
    };
    // SAFETY: the stack outlives its use: `drop` disables it before freeing it.
    unsafe {
        libc::sigaltstack(&ss, std::ptr::null_mut());
    }
    AlternateStack { _stack: stack }
}

impl Drop for AlternateStack {
    fn drop(&mut self) {
        let ss = libc::stack_t {
            ss_sp: std::ptr::null_mut(),
            ss_flags: libc::SS_DISABLE,
            ss_size: 0,
        };
        // SAFETY: disabling the alternate stack of the calling thread.
        unsafe {
            libc::sigaltstack(&ss, std::ptr::null_mut());
        }
    }
}
