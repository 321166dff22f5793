//! What an image records about its sources: the commit and its time, which stands in for the
//! build time so that the same sources give the same image.

use std::path::Path;
use std::process::Command;

/// What the image records about its sources.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provenance {
    /// `SOURCE_DATE_EPOCH`, else the last commit's time, else 0.
    pub epoch: i64,
    /// The last commit's hash, else `unknown`.
    pub revision: String,
}

impl Provenance {
    /// Reads `SOURCE_DATE_EPOCH` and git.
    pub fn of(root: &Path) -> Provenance {
        let git = |args: &[&str]| {
            Command::new("git")
                .args(args)
                .current_dir(root)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        };
        let epoch = std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .or_else(|| git(&["log", "-1", "--format=%ct"]))
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let revision = git(&["rev-parse", "HEAD"]).unwrap_or_else(|| "unknown".into());
        Provenance { epoch, revision }
    }

    /// The epoch as RFC 3339, as OCI `created` fields want it.
    pub fn created(&self) -> String {
        rfc3339(self.epoch)
    }
}

/// Seconds since the epoch as `YYYY-MM-DDTHH:MM:SSZ` (proleptic Gregorian, UTC).
pub fn rfc3339(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    let secs = epoch.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_formats_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_787_204_541), "2026-08-20T05:42:21Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
    }
}
