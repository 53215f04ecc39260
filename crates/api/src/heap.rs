//! Hands the heap memory the process has freed back to the operating system.
//!
//! A catalog snapshot is hundreds of thousands of small allocations. Once a replaced one is freed, its
//! pages are free inside the allocator but still resident. With jemalloc as the process's allocator (the
//! `jemalloc` feature, which `thv` turns on), purging every arena returns them at once. glibc's malloc keeps
//! freed memory in its arenas (one per thread that allocated, up to eight per core) and returns it only
//! from the top of each heap; `malloc_trim` gives back each wholly free page, but pages that still hold one
//! live allocation stay. Both run where they apply: glibc's malloc still serves the C code (SQLite).

/// Gives the free pages of the allocators back to the operating system: jemalloc's arenas (with the
/// `jemalloc` feature) and glibc's (where the C library is glibc). Takes the arenas' locks in turn: call it
/// off the request path, once a large amount of memory has been freed.
pub fn release_free_memory() {
    #[cfg(feature = "jemalloc")]
    jemalloc::purge_all_arenas();
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    glibc::trim();
}

#[cfg(feature = "jemalloc")]
#[allow(unsafe_code)]
mod jemalloc {
    use std::ptr;

    /// `arena.<MALLCTL_ARENAS_ALL>.purge` (4096 is `MALLCTL_ARENAS_ALL` of jemalloc.h): purge every arena.
    const PURGE_ALL: &std::ffi::CStr = c"arena.4096.purge";

    pub(super) fn purge_all_arenas() {
        // SAFETY: `PURGE_ALL` is a NUL-terminated name of a control that reads and writes nothing, so no
        // old or new value pointer is passed (both null, lengths zero), as jemalloc's manual specifies for
        // `arena.<i>.purge`; the call takes jemalloc's own locks and may run on any thread. Its result (0,
        // or an error code when jemalloc has no arenas yet) is not needed.
        unsafe {
            tikv_jemalloc_sys::mallctl(PURGE_ALL.as_ptr(), ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), 0);
        }
    }
}

#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod glibc {
    pub(super) fn trim() {
        // SAFETY: `malloc_trim` takes no pointer and touches only glibc's own arenas, each under its lock,
        // so it may be called from any thread at any time; its result (whether memory was released) is
        // not needed.
        unsafe {
            libc::malloc_trim(0);
        }
    }
}

#[cfg(all(test, feature = "jemalloc", target_os = "linux"))]
mod tests {
    /// As in `thv`: the purge is tested against the allocator it purges.
    #[global_allocator]
    static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

    const MB: u64 = 1 << 20;

    /// The process's resident anonymous memory.
    fn resident_anonymous() -> u64 {
        let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
        let kb = status
            .lines()
            .find_map(|line| line.strip_prefix("RssAnon:"))
            .and_then(|value| value.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("RssAnon in /proc/self/status");
        kb * 1024
    }

    #[test]
    fn freed_small_allocations_go_back_to_the_system() {
        let baseline = resident_anonymous();
        // 128 MB in snapshot-sized pieces, every byte written so that each page is resident.
        let pieces: Vec<Box<[u8]>> = (0..256 * 1024).map(|i| vec![i as u8; 512].into_boxed_slice()).collect();
        let held = resident_anonymous();
        assert!(held > baseline + 100 * MB, "the pieces are resident: {} MB", (held - baseline) / MB);
        drop(pieces);
        super::release_free_memory();
        let released = resident_anonymous();
        // The bound leaves room for what the crate's other tests, running beside this one, hold meanwhile
        // (the page-cache test's pages, ~17 MB at most); without the purge nearly all 128 MB stay.
        assert!(
            released < baseline + 32 * MB,
            "after freeing 128 MB and the purge, {} MB more than before are still resident",
            released.saturating_sub(baseline) / MB
        );
    }
}
