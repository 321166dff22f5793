//! CPU time and memory of processes, from `/proc`: the server inside its container (seen from
//! the host by its PID) and the load generator itself.

use std::time::Duration;

/// Clock ticks per second of `/proc/<pid>/stat` times; 100 on Linux.
const TICKS_PER_SECOND: f64 = 100.0;

/// User plus system CPU time of process `pid` (`self` for this one).
pub fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name; utime and stime are the 14th and 15th.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some(Duration::from_secs_f64((utime + stime) / TICKS_PER_SECOND))
}

/// CPU time spent busy (not idle or waiting for I/O) by all cores together, since boot.
pub fn machine_busy() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let fields: Vec<f64> = stat
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    let busy: f64 = fields
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    Some(Duration::from_secs_f64(busy / TICKS_PER_SECOND))
}

/// A `/proc/<pid>/status` field in kilobytes: `VmRSS` (now) or `VmHWM` (peak).
pub fn memory_kb(pid: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status.lines().find_map(|l| {
        let value = l.strip_prefix(field)?.strip_prefix(':')?;
        value.trim().trim_end_matches("kB").trim().parse().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_this_process() {
        assert!(cpu_time("self").is_some());
        assert!(machine_busy().is_some_and(|d| d > Duration::ZERO));
        assert!(memory_kb("self", "VmRSS").is_some_and(|kb| kb > 0));
        assert!(memory_kb("self", "VmHWM").is_some());
        assert_eq!(memory_kb("self", "NoSuchField"), None);
    }
}
