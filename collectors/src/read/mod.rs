//! The read layer: every byte the collectors take from `/proc`, `/sys` and the host's root goes through
//! these few small pieces, as prometheus/procfs' `internal/util` serves node_exporter.
//!
//! - [`read_to_string`] / [`with_str`]: the one file reader (`open`, `read` to the end into a reused
//!   buffer, `close`; no `statx`), errors naming the path.
//! - [`read_attr`] / [`sys_read_file`]: the one sysfs attribute reader (one `read`, trimmed) and
//!   [`is_absent`], the one rule for "this attribute is not there / not supported".
//! - [`parse_go_int`] / [`parse_go_uint`]: Go's `ParseInt(s, 0, 64)` / `ParseUint(s, 0, 64)`;
//!   [`parse_u64`] / [`parse_i64`]: decimal values.
//! - [`sorted_entry_names`], [`class_devices`], [`glob_numbered`]: directory iteration in Go's order.
//! - [`FileReader`] / [`is_gone`]: a reader owning its buffer, for the container family's cgroup files.
//! - [`netlink`]: the netlink socket and message framing of the netlink collectors (one dump request,
//!   its replies parsed by rust-netlink's packet crates).
//! - [`clock_ticks_per_second`]: `USER_HZ`, once.

mod attr;
mod class;
mod file;
pub mod netlink;
mod num;
mod reader;

pub use attr::{
    absent_as_none, is_absent, read_attr, sys_read_file, to_valid_utf8, with_attr_bytes,
    with_attr_raw,
};
pub use class::{
    class_devices, glob, glob_numbered, is_numbered, paths_of, read_dir_sorted, sorted_entry_names,
    Entry, EntryType,
};
pub use file::{
    read_file, read_file_bytes, read_to_string, read_to_string_or_no_data, read_u64, with_bytes,
    with_file_bytes, with_str,
};
pub use num::{parse_go_int, parse_go_uint, parse_i64, parse_u64};
pub use reader::{is_gone, FileReader};

/// The kernel's `USER_HZ`, the unit of the tick counts in `/proc/stat`, `/proc/<pid>/stat` and cgroup v1's
/// `cpuacct.stat`: from the auxiliary vector (`AT_CLKTCK`, what `sysconf(_SC_CLK_TCK)` returns), read once.
pub fn clock_ticks_per_second() -> u64 {
    static TICKS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| match rustix::param::clock_ticks_per_second() {
        0 => 100,
        n => n,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn clock_tick_is_the_kernels() {
        // USER_HZ is 100 on every architecture Linux runs us on; the auxiliary vector says so.
        assert_eq!(super::clock_ticks_per_second(), 100);
    }
}
