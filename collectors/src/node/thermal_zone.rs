//! `thermal_zone`: node_thermal_zone_temp{zone,type} from `/sys/class/thermal/thermal_zone*` and
//! node_cooling_device_{cur,max}_state{name,type} from `/sys/class/thermal/cooling_device*`
//! (Documentation/driver-api/thermal/sysfs-api.rst).

use std::path::Path;

use crate::{CollectError, MetricSet, Roots};

use crate::read::{glob_numbered, parse_i64, read_to_string, sys_read_file};

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

fn read_str(p: &Path) -> Result<String, CollectError> {
    sys_read_file(p).map_err(|e| CollectError::io(p, e))
}

fn read_i64(p: &Path) -> Result<i64, CollectError> {
    parse_i64(&read_str(p)?).map_err(|e| e.at(p))
}

fn is_enodata(e: &CollectError) -> bool {
    matches!(e, CollectError::Io { source, .. } if source.raw_os_error() == Some(libc::ENODATA))
}

/// Read every thermal zone under `dir` (`<sys>/class/thermal`). A zone whose attributes answer `ENODATA`
/// (a sensor that is not ready) is skipped; `type`, `policy` and `temp` are required.
pub fn read_zones(dir: &Path) -> Result<Vec<ThermalZone>, CollectError> {
    let names = glob_numbered(dir, "thermal_zone")?;
    let mut zones = Vec::with_capacity(names.len());
    for name in &names {
        let zdir = dir.join(name);
        let read = || -> Result<ThermalZone, CollectError> {
            let kind = read_str(&zdir.join("type"))?;
            read_str(&zdir.join("policy"))?;
            let temp = {
                let p = zdir.join("temp");
                let text = read_to_string(&p)?;
                parse_i64(&text).map_err(|e| e.at(&p))?
            };
            Ok(ThermalZone {
                zone: name["thermal_zone".len()..].to_string(),
                kind,
                temp_millicelsius: temp,
            })
        };
        match read() {
            Ok(z) => zones.push(z),
            Err(e) if is_enodata(&e) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(zones)
}

/// Read every cooling device under `dir` (`<sys>/class/thermal`).
pub fn read_cooling_devices(dir: &Path) -> Result<Vec<CoolingDevice>, CollectError> {
    let names = glob_numbered(dir, "cooling_device")?;
    names
        .iter()
        .map(|name| {
            let d = dir.join(name);
            Ok(CoolingDevice {
                name: name["cooling_device".len()..].to_string(),
                kind: read_str(&d.join("type"))?,
                max_state: read_i64(&d.join("max_state"))?,
                cur_state: read_i64(&d.join("cur_state"))?,
            })
        })
        .collect()
}

/// Like node_exporter, a host without thermal zones succeeds with no series.
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
