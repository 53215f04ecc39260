//! Hands the heap memory the process has freed back to the operating system.
//!
//! glibc's malloc keeps freed memory in its arenas (one per thread that allocated, up to eight per core) and
//! returns it to the kernel only from the top of each heap: after a catalog is decoded on blocking threads
//! and freed on the runtime's, tens of megabytes stay resident though nothing uses them. `malloc_trim`
//! walks every arena and gives back each free page (`madvise(MADV_DONTNEED)`). Other C libraries and
//! platforms have no such call; there this does nothing.

/// Gives the free pages of every malloc arena back to the operating system (glibc's `malloc_trim(0)`);
/// a no-op where the C library is not glibc. Takes the arenas' locks in turn: call it off the request
/// path, once a large amount of memory has been freed.
pub fn release_free_memory() {
    imp::release_free_memory();
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod imp {
    pub(super) fn release_free_memory() {
        // SAFETY: `malloc_trim` takes no pointer and touches only glibc's own arenas, each under its lock,
        // so it may be called from any thread at any time; its result (whether memory was released) is
        // not needed.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
mod imp {
    pub(super) fn release_free_memory() {}
}
