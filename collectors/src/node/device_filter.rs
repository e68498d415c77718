//! node_exporter's `deviceFilter` (collector/device_filter.go): a device is ignored when it matches the
//! exclude pattern, or when an include pattern is set and it does not match it. Used by the collectors
//! with `--collector.<name>.device-include` / `--collector.<name>.device-exclude` flags.

use regex::Regex;

use crate::CollectError;

/// The compiled include/exclude pair of one collector.
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    exclude: Option<Regex>,
    include: Option<Regex>,
}

impl DeviceFilter {
    /// Compile the two flags (an empty value is no pattern), rejecting both set at once as node_exporter's
    /// collectors do ("mutually exclusive"). `name` is the collector's, for the flag names in errors.
    pub fn new(name: &str, exclude: &str, include: &str) -> Result<Self, CollectError> {
        if !exclude.is_empty() && !include.is_empty() {
            return Err(CollectError::Other(format!(
                "collector.{name}.device-include and collector.{name}.device-exclude are mutually exclusive"
            )));
        }
        Ok(DeviceFilter {
            exclude: super::optional_flag_regex(
                &format!("collector.{name}.device-exclude"),
                exclude,
            )?,
            include: super::optional_flag_regex(
                &format!("collector.{name}.device-include"),
                include,
            )?,
        })
    }

    /// Whether `device` is filtered out (Go's unanchored `MatchString`, as `Regex::is_match`).
    pub fn ignored(&self, device: &str) -> bool {
        self.exclude.as_ref().is_some_and(|r| r.is_match(device))
            || self.include.as_ref().is_some_and(|r| !r.is_match(device))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_exclude_and_both() {
        let none = DeviceFilter::new("qdisc", "", "").unwrap();
        assert!(!none.ignored("eth0"));
        let ex = DeviceFilter::new("qdisc", "^lo$", "").unwrap();
        assert!(ex.ignored("lo") && !ex.ignored("eth0"));
        let inc = DeviceFilter::new("qdisc", "", "(wlan0|eth0)").unwrap();
        assert!(!inc.ignored("eth0") && !inc.ignored("xeth01") && inc.ignored("lo"));
        assert!(DeviceFilter::new("qdisc", "a", "b").is_err());
        assert!(DeviceFilter::new("qdisc", "(", "").is_err());
    }
}
