//! `thermal_zone`: node_thermal_zone_temp{zone,type} from `/sys/class/thermal/thermal_zone*` and
//! node_cooling_device_{cur,max}_state{name,type} from `/sys/class/thermal/cooling_device*`
//! (Documentation/driver-api/thermal/sysfs-api.rst).

use std::path::Path;

use crate::{CollectError, MetricSet, Roots};

use crate::read::{glob_numbered, parse_i64, sys_read_file};

/// A thermal zone: its number (the directory suffix), type and temperature in millidegrees Celsius.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThermalZone {
    pub zone: String,
    pub kind: String,
    pub temp_millicelsius: i64,
}

/// A cooling device: its number, type and states (`cur_state` is -1 for some drivers, e.g.
/// intel_powerclamp when idle injection is off).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoolingDevice {
    pub name: String,
    pub kind: String,
    pub max_state: i64,
    pub cur_state: i64,
}

/// Whether a cooling device's read error lets procfs skip the device (`canIgnoreError`): missing, not
/// permitted, "operation not supported" or `EINVAL`; anything else, a parse error included, fails.
fn cooling_ignorable(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::NotFound | std::io::ErrorKind::PermissionDenied
    ) || matches!(
        e.raw_os_error(),
        Some(libc::EPERM | libc::EACCES | libc::EOPNOTSUPP | libc::EINVAL)
    )
}

/// Read every thermal zone under `dir` (`<sys>/class/thermal`).
///
/// node_exporter 1.12 (procfs 0.21.1) reports every zone: an attribute it cannot read, for `temp` a sensor
/// that answers `EINVAL` or `ENODATA` (not ready) or a value that does not parse, is collected as a read
/// error the collector ignores, and the zone is reported with an empty `type` or a temperature of 0.
/// 1.11 (procfs 0.20) skipped such a zone, and failed the collector on other errors (1.12 #3657: `EINVAL`
/// handled gracefully).
pub fn read_zones(dir: &Path) -> Result<Vec<ThermalZone>, CollectError> {
    let names = glob_numbered(dir, "thermal_zone")?;
    let mut zones = Vec::with_capacity(names.len());
    for name in &names {
        let zdir = dir.join(name);
        let kind = sys_read_file(&zdir.join("type")).unwrap_or_default();
        let temp = sys_read_file(&zdir.join("temp"))
            .ok()
            .and_then(|t| parse_i64(&t).ok())
            .unwrap_or(0);
        zones.push(ThermalZone {
            zone: name["thermal_zone".len()..].to_string(),
            kind,
            temp_millicelsius: temp,
        });
    }
    Ok(zones)
}

/// One cooling device's attributes: `Ok(None)` when procfs skips the device.
fn read_cooling_device(d: &Path, name: &str) -> Result<Option<CoolingDevice>, CollectError> {
    let attr = |file: &str| -> Result<Option<String>, CollectError> {
        let p = d.join(file);
        match sys_read_file(&p) {
            Ok(s) => Ok(Some(s)),
            Err(e) if cooling_ignorable(&e) => Ok(None),
            Err(e) => Err(CollectError::io(&p, e)),
        }
    };
    let int = |file: &str| -> Result<Option<i64>, CollectError> {
        match attr(file)? {
            Some(s) => Ok(Some(parse_i64(&s).map_err(|e| e.at(d.join(file)))?)),
            None => Ok(None),
        }
    };
    let Some(kind) = attr("type")? else {
        return Ok(None);
    };
    let Some(max_state) = int("max_state")? else {
        return Ok(None);
    };
    let Some(cur_state) = int("cur_state")? else {
        return Ok(None);
    };
    Ok(Some(CoolingDevice {
        name: name["cooling_device".len()..].to_string(),
        kind,
        max_state,
        cur_state,
    }))
}

/// Read every cooling device under `dir` (`<sys>/class/thermal`). A device with an attribute that is
/// missing, not permitted or answers `EINVAL`/`EOPNOTSUPP` is skipped, as procfs does; any other error fails.
pub fn read_cooling_devices(dir: &Path) -> Result<Vec<CoolingDevice>, CollectError> {
    let names = glob_numbered(dir, "cooling_device")?;
    let mut out = Vec::with_capacity(names.len());
    for name in &names {
        if let Some(c) = read_cooling_device(&dir.join(name), name)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// Like node_exporter, a host without thermal zones succeeds with no series. The zones are written before
/// the cooling devices are read: a cooling device error fails the collector with the zones kept.
pub fn collect(roots: &Roots, out: &mut MetricSet) -> Result<(), CollectError> {
    let dir = roots.sys("class/thermal");
    for z in read_zones(&dir)? {
        out.gauge(
            "node_thermal_zone_temp",
            "Zone temperature in Celsius",
            &[("type", &z.kind), ("zone", &z.zone)],
            z.temp_millicelsius as f64 / 1000.0,
        );
    }
    for c in read_cooling_devices(&dir)? {
        out.gauge(
            "node_cooling_device_cur_state",
            "Current throttle state of the cooling device",
            &[("name", &c.name), ("type", &c.kind)],
            c.cur_state as f64,
        );
        out.gauge(
            "node_cooling_device_max_state",
            "Maximum throttle state of the cooling device",
            &[("name", &c.name), ("type", &c.kind)],
            c.max_state as f64,
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::node::testutil::{assert_fixture, assert_rejects, fixture_root};

    #[test]
    fn reads_fixture_zones_and_devices() {
        let dir = fixture_root().join("sys/class/thermal");
        let zones = read_zones(&dir).unwrap();
        let names: Vec<&str> = zones.iter().map(|z| z.zone.as_str()).collect();
        assert_eq!(names, ["0", "1", "10"]);
        assert_eq!(zones[2].temp_millicelsius, -40000);
        let cds = read_cooling_devices(&dir).unwrap();
        assert_eq!(cds[1].kind, "intel_powerclamp");
        assert_eq!(cds[1].cur_state, -1);
    }

    #[test]
    fn unreadable_zone_attributes_read_as_empty_and_zero() {
        let dir = std::env::temp_dir().join(format!("hostlens-thermal-{}", std::process::id()));
        let z = dir.join("thermal_zone3");
        std::fs::create_dir_all(&z).unwrap();
        // No type, a temperature that does not parse (what a driver answering EINVAL gives procfs too).
        std::fs::write(z.join("temp"), "n/a\n").unwrap();
        let c = dir.join("cooling_device0");
        std::fs::create_dir_all(&c).unwrap();
        std::fs::write(c.join("type"), "Fan\n").unwrap();
        std::fs::write(c.join("max_state"), "3\n").unwrap();
        // No cur_state: the device is skipped.
        let zones = read_zones(&dir).unwrap();
        let cds = read_cooling_devices(&dir);
        std::fs::write(c.join("cur_state"), "x\n").unwrap();
        let bad = read_cooling_devices(&dir);
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(
            zones,
            [ThermalZone {
                zone: "3".into(),
                kind: String::new(),
                temp_millicelsius: 0
            }]
        );
        assert!(cds.unwrap().is_empty());
        assert!(bad.is_err());
    }

    #[test]
    fn parse_rejects_garbage() {
        assert_eq!(parse_i64("27800\n"), Ok(27800));
        assert_rejects(parse_i64, &["", "27.8"]);
    }

    #[test]
    fn missing_class_dir_is_empty() {
        assert!(read_zones(Path::new("/nonexistent/class/thermal"))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn collects_from_fixture_root() {
        assert_fixture(
            "thermal_zone",
            &[
                (
                    "node_thermal_zone_temp",
                    &[("zone", "0"), ("type", "x86_pkg_temp")],
                    52.0,
                ),
                ("node_thermal_zone_temp", &[("zone", "1")], 27.8),
                (
                    "node_cooling_device_max_state",
                    &[("name", "1"), ("type", "intel_powerclamp")],
                    50.0,
                ),
                ("node_cooling_device_cur_state", &[("name", "1")], -1.0),
            ],
        );
    }
}
