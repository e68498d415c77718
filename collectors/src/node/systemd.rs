//! `systemd`: node_systemd_* from systemd's manager over D-Bus, as node_exporter 1.12.1's
//! `collector/systemd_linux.go` (unchanged since 1.10, which added node_systemd_virtualization_info).
//! Disabled by default, as upstream.
//!
//! Connection (go-systemd v22.7.0's `dbus.NewWithContext`, what node_exporter 1.12.1 uses): the system bus
//! first (`DBUS_SYSTEM_BUS_ADDRESS`, else `/var/run/dbus/system_bus_socket`, with `Hello`), and only when
//! that fails and the agent runs as root, systemd's private socket `/run/systemd/private` (direct, no
//! `Hello`). `--collector.systemd.private` goes to the private socket only. The private socket's address
//! is the hidden hostlens flag `--collector.systemd.private-address` (for tests; node_exporter hard-codes
//! it). The D-Bus plumbing and why it is zbus' blocking API is in [`crate::dbus`].
//!
//! Per scrape, as upstream: the manager's `Version` (node_systemd_version) and `Virtualization`, the unit
//! list (`ListUnits`: node_systemd_units over all units), then for the units that pass the include/exclude
//! regexps and are `loaded`: their state (with the service/mount `Type` as label), optionally restarts,
//! start time and tasks, timers' last trigger and sockets' connection counters (one property `Get` each),
//! and last `SystemState`. A failing property only drops its sample (debug-logged upstream); a failing
//! connection, `ListUnits` or `SystemState` fails the scrape (success 0), keeping what came before.
//!
//! The logic runs over the [`Source`] trait, implemented by the D-Bus connection and, in the tests, by an
//! in-memory fake.

use regex::Regex;

use crate::dbus::{get_property, Conn, Prop};
use crate::{CollectError, Kind, MetricSet};

use super::{flag_regex, NodeCollector, NodeConfig};

/// Below this version systemd has no `SystemState` nor timers' `LastTriggerUSec` (node_exporter #291).
const MIN_VERSION_SYSTEM_STATE: f64 = 212.0;

/// The states node_systemd_unit_state always has a sample for (upstream's `unitStatesName`).
pub const UNIT_STATES: [&str; 5] = ["active", "activating", "deactivating", "inactive", "failed"];

const DEFAULT_INCLUDE: &str = ".+";
const DEFAULT_EXCLUDE: &str = r".+\.(automount|device|mount|scope|slice)";
const DEST: &str = "org.freedesktop.systemd1";
const MANAGER_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";

/// One entry of `ListUnits` (the fields used here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    pub name: String,
    pub load_state: String,
    pub active_state: String,
}

/// What the collector asks systemd: a manager property, the unit list, a unit's property.
pub trait Source {
    fn manager_property(&self, prop: &str) -> Result<Prop, CollectError>;
    fn list_units(&self) -> Result<Vec<Unit>, CollectError>;
    /// Property `prop` of interface `org.freedesktop.systemd1.<iface>` of the unit `unit`.
    fn unit_property(&self, unit: &str, iface: &str, prop: &str) -> Result<Prop, CollectError>;
}

/// go-systemd's `PathBusEscape`: every byte outside `[A-Za-z0-9]` (and a leading digit) as `_` plus its
/// hex value in lower case without padding (Go's `%x`); the empty name is `_`.
pub fn path_bus_escape(name: &str) -> String {
    if name.is_empty() {
        return "_".to_string();
    }
    let mut out = String::with_capacity(name.len());
    for (i, b) in name.bytes().enumerate() {
        if b.is_ascii_alphabetic() || (b.is_ascii_digit() && i > 0) {
            out.push(b as char);
        } else {
            out.push_str(&format!("_{b:x}"));
        }
    }
    out
}

/// The object path go-systemd gives a unit.
pub fn unit_path(name: &str) -> String {
    format!("/org/freedesktop/systemd1/unit/{}", path_bus_escape(name))
}

/// `Version` as node_exporter reads it: the GVariant text with one leading and one trailing `"` removed,
/// then its first `[0-9]{3,}(\.[0-9]+)?` as a float (`252.22-1~deb12u1` → 252.22). `(0, "")` when the
/// property is missing or holds no such number.
pub fn parse_version(text: Option<&str>) -> (f64, String) {
    let Some(text) = text else {
        return (0.0, String::new());
    };
    let v = text.strip_suffix('"').unwrap_or(text);
    let v = v.strip_prefix('"').unwrap_or(v);
    let number = version_re()
        .find(v)
        .and_then(|m| m.as_str().parse::<f64>().ok());
    match number {
        Some(n) => (n, v.to_string()),
        None => (0.0, String::new()),
    }
}

fn version_re() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[0-9]{3,}(\.[0-9]+)?").expect("a valid literal regex"))
}

/// `Virtualization` as node_exporter reads it: every `"` trimmed from both ends; empty is `none` (bare
/// metal), an unreadable property `unknown`.
pub fn parse_virtualization(text: Option<&str>) -> String {
    match text {
        None => "unknown".to_string(),
        Some(t) => match t.trim_matches('"') {
            "" => "none".to_string(),
            v => v.to_string(),
        },
    }
}

/// node_systemd_units: every state of [`UNIT_STATES`] (0 when no unit has it) plus any other active state a
/// unit is in (`reloading`, `maintenance`, …), over all units (before filtering), as upstream.
pub fn summarize(units: &[Unit]) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = UNIT_STATES.iter().map(|s| (s.to_string(), 0.0)).collect();
    for u in units {
        match out.iter_mut().find(|(s, _)| *s == u.active_state) {
            Some((_, n)) => *n += 1.0,
            None => out.push((u.active_state.clone(), 1.0)),
        }
    }
    out
}

/// The units whose name matches `include`, does not match `exclude` (both anchored) and whose load state
/// is `loaded`.
pub fn filter_units<'a>(units: &'a [Unit], include: &Regex, exclude: &Regex) -> Vec<&'a Unit> {
    units
        .iter()
        .filter(|u| {
            include.is_match(&u.name) && !exclude.is_match(&u.name) && u.load_state == "loaded"
        })
        .collect()
}

/// The systemd collector's flags (node_exporter's names, defaults and help).
#[derive(Debug, Clone, clap::Args)]
#[group(skip)]
pub struct Flags {
    /// Regexp of systemd units to include. Units must both match include and not match exclude to be
    /// included. [default: .+]
    #[arg(
        value_name = "REGEX",
        id = "collector.systemd.unit-include",
        long = "collector.systemd.unit-include"
    )]
    pub unit_include: Option<String>,
    /// DEPRECATED: Use --collector.systemd.unit-include
    #[arg(
        value_name = "REGEX",
        id = "collector.systemd.unit-whitelist",
        long = "collector.systemd.unit-whitelist",
        hide = true
    )]
    pub unit_whitelist: Option<String>,
    /// Regexp of systemd units to exclude. Units must both match include and not match exclude to be
    /// included. [default: .+\.(automount|device|mount|scope|slice)]
    #[arg(
        value_name = "REGEX",
        id = "collector.systemd.unit-exclude",
        long = "collector.systemd.unit-exclude"
    )]
    pub unit_exclude: Option<String>,
    /// DEPRECATED: Use collector.systemd.unit-exclude
    #[arg(
        value_name = "REGEX",
        id = "collector.systemd.unit-blacklist",
        long = "collector.systemd.unit-blacklist",
        hide = true
    )]
    pub unit_blacklist: Option<String>,
    /// Establish a private, direct connection to systemd without dbus (Strongly discouraged since it
    /// requires root. For testing purposes only).
    #[arg(
        id = "collector.systemd.private",
        long = "collector.systemd.private",
        hide = true
    )]
    pub private: bool,
    /// hostlens: the D-Bus address of systemd's private socket (node_exporter hard-codes it).
    #[arg(
        value_name = "ADDRESS",
        id = "collector.systemd.private-address",
        long = "collector.systemd.private-address",
        default_value = "unix:path=/run/systemd/private",
        hide = true
    )]
    pub private_address: String,
    /// Enables service unit tasks metrics unit_tasks_current and unit_tasks_max
    #[arg(
        id = "collector.systemd.enable-task-metrics",
        long = "collector.systemd.enable-task-metrics"
    )]
    pub enable_task_metrics: bool,
    /// Enables service unit metric service_restart_total
    #[arg(
        id = "collector.systemd.enable-restarts-metrics",
        long = "collector.systemd.enable-restarts-metrics"
    )]
    pub enable_restarts_metrics: bool,
    /// Enables service unit metric unit_start_time_seconds
    #[arg(
        id = "collector.systemd.enable-start-time-metrics",
        long = "collector.systemd.enable-start-time-metrics"
    )]
    pub enable_start_time_metrics: bool,
}

/// A new flag and its deprecated alias: the alias applies when the new flag is not given; both is an error.
fn pick<'a>(
    new: &'a Option<String>,
    old: &'a Option<String>,
    new_name: &str,
    old_name: &str,
    default: &'a str,
) -> Result<&'a str, CollectError> {
    match (new, old) {
        (Some(_), Some(o)) if !o.is_empty() => Err(CollectError::Other(format!(
            "--collector.systemd.{old_name} and --collector.systemd.{new_name} are mutually exclusive"
        ))),
        (None, Some(o)) if !o.is_empty() => {
            tracing::warn!(
                "--collector.systemd.{old_name} is DEPRECATED and will be removed in 2.0.0, use \
                 --collector.systemd.{new_name}"
            );
            Ok(o)
        }
        (Some(n), _) => Ok(n),
        (None, _) => Ok(default),
    }
}

/// The collector's options, checked.
#[derive(Debug, Clone)]
pub struct Options {
    pub include: Regex,
    pub exclude: Regex,
    pub tasks: bool,
    pub restarts: bool,
    pub start_time: bool,
}

impl Options {
    pub fn new(f: &Flags) -> Result<Self, CollectError> {
        let exclude = pick(
            &f.unit_exclude,
            &f.unit_blacklist,
            "unit-exclude",
            "unit-blacklist",
            DEFAULT_EXCLUDE,
        )?;
        let include = pick(
            &f.unit_include,
            &f.unit_whitelist,
            "unit-include",
            "unit-whitelist",
            DEFAULT_INCLUDE,
        )?;
        Ok(Options {
            include: flag_regex(
                "collector.systemd.unit-include",
                &format!("^(?:{include})$"),
            )?,
            exclude: flag_regex(
                "collector.systemd.unit-exclude",
                &format!("^(?:{exclude})$"),
            )?,
            tasks: f.enable_task_metrics,
            restarts: f.enable_restarts_metrics,
            start_time: f.enable_start_time_metrics,
        })
    }
}

fn debug_skip(what: &str, unit: &str, e: &CollectError) {
    tracing::debug!(unit, error = %e, "systemd: couldn't get {what}");
}

/// A `u32` property's value (go-systemd's `.Value().(uint32)`); anything else drops the sample.
fn as_u32(p: Prop) -> Option<f64> {
    match p {
        Prop::U32(n) => Some(f64::from(n)),
        _ => None,
    }
}

fn as_u64(p: Prop) -> Option<u64> {
    match p {
        Prop::U64(n) => Some(n),
        _ => None,
    }
}

fn named(unit: &Unit) -> Vec<(String, String)> {
    vec![("name".to_string(), unit.name.clone())]
}

/// One scrape over `src` (see the module doc for what and in which order).
pub fn collect_from(
    src: &dyn Source,
    opts: &Options,
    out: &mut MetricSet,
) -> Result<(), CollectError> {
    let version_text = src
        .manager_property("Version")
        .map(|p| p.gvariant_text())
        .map_err(
            |e| tracing::debug!(error = %e, "systemd: unable to get the version, defaulting to 0"),
        )
        .ok();
    let (version, version_full) = parse_version(version_text.as_deref());
    out.gauge(
        "node_systemd_version",
        "Detected systemd version",
        &[("version", &version_full)],
        version,
    );
    let virt_text = src
        .manager_property("Virtualization")
        .map(|p| p.gvariant_text())
        .map_err(|e| tracing::debug!(error = %e, "systemd: could not get Virtualization"))
        .ok();
    out.gauge(
        "node_systemd_virtualization_info",
        "Detected virtualization technology",
        &[(
            "virtualization_type",
            &parse_virtualization(virt_text.as_deref()),
        )],
        1.0,
    );

    let all = src
        .list_units()
        .map_err(|e| CollectError::Other(format!("couldn't get units: {e}")))?;
    for (state, n) in summarize(&all) {
        out.gauge(
            "node_systemd_units",
            "Summary of systemd unit states",
            &[("state", &state)],
            n,
        );
    }
    let units = filter_units(&all, &opts.include, &opts.exclude);

    for u in &units {
        let type_iface = if u.name.ends_with(".service") {
            Some("Service")
        } else if u.name.ends_with(".mount") {
            Some("Mount")
        } else {
            None
        };
        let unit_type = match type_iface.map(|i| src.unit_property(&u.name, i, "Type")) {
            Some(Ok(Prop::Str(t))) => t,
            Some(Err(e)) => {
                debug_skip("unit type", &u.name, &e);
                String::new()
            }
            _ => String::new(),
        };
        for state in UNIT_STATES {
            out.sample(
                "node_systemd_unit_state",
                "Systemd unit",
                Kind::Gauge,
                vec![
                    ("name".to_string(), u.name.clone()),
                    ("state".to_string(), state.to_string()),
                    ("type".to_string(), unit_type.clone()),
                ],
                if u.active_state == state { 1.0 } else { 0.0 },
            );
        }
        if opts.restarts && u.name.ends_with(".service") {
            // NRestarts came with systemd 235.
            match src.unit_property(&u.name, "Service", "NRestarts") {
                Ok(p) => {
                    if let Some(n) = as_u32(p) {
                        out.sample(
                            "node_systemd_service_restart_total",
                            "Service unit count of Restart triggers",
                            Kind::Counter,
                            named(u),
                            n,
                        );
                    }
                }
                Err(e) => debug_skip("NRestarts", &u.name, &e),
            }
        }
    }

    if opts.start_time {
        for u in &units {
            let usec = if u.active_state != "active" {
                0
            } else {
                match src.unit_property(&u.name, "Unit", "ActiveEnterTimestamp") {
                    Ok(p) => match as_u64(p) {
                        Some(n) => n,
                        None => continue,
                    },
                    Err(e) => {
                        debug_skip("ActiveEnterTimestamp", &u.name, &e);
                        continue;
                    }
                }
            };
            out.sample(
                "node_systemd_unit_start_time_seconds",
                "Start time of the unit since unix epoch in seconds.",
                Kind::Gauge,
                named(u),
                usec as f64 / 1e6,
            );
        }
    }

    if opts.tasks {
        for u in units.iter().filter(|u| u.name.ends_with(".service")) {
            for (prop, name, help) in [
                (
                    "TasksCurrent",
                    "node_systemd_unit_tasks_current",
                    "Current number of tasks per Systemd unit",
                ),
                (
                    "TasksMax",
                    "node_systemd_unit_tasks_max",
                    "Maximum number of tasks per Systemd unit",
                ),
            ] {
                match src.unit_property(&u.name, "Service", prop) {
                    // u64::MAX is "no value" (no accounting, no limit): no sample.
                    Ok(p) => match as_u64(p) {
                        Some(n) if n != u64::MAX => {
                            out.sample(name, help, Kind::Gauge, named(u), n as f64)
                        }
                        _ => {}
                    },
                    Err(e) => debug_skip(prop, &u.name, &e),
                }
            }
        }
    }

    if version >= MIN_VERSION_SYSTEM_STATE {
        for u in units.iter().filter(|u| u.name.ends_with(".timer")) {
            match src.unit_property(&u.name, "Timer", "LastTriggerUSec") {
                Ok(p) => {
                    if let Some(n) = as_u64(p) {
                        out.sample(
                            "node_systemd_timer_last_trigger_seconds",
                            "Seconds since epoch of last trigger.",
                            Kind::Gauge,
                            named(u),
                            n as f64 / 1e6,
                        );
                    }
                }
                Err(e) => debug_skip("LastTriggerUSec", &u.name, &e),
            }
        }
    }

    for u in units.iter().filter(|u| u.name.ends_with(".socket")) {
        let Some(accepted) = socket_prop(src, u, "NAccepted") else {
            continue;
        };
        out.sample(
            "node_systemd_socket_accepted_connections_total",
            "Total number of accepted socket connections",
            Kind::Counter,
            named(u),
            accepted,
        );
        let Some(current) = socket_prop(src, u, "NConnections") else {
            continue;
        };
        out.sample(
            "node_systemd_socket_current_connections",
            "Current number of socket connections",
            Kind::Gauge,
            named(u),
            current,
        );
        // NRefused came with systemd 239. A gauge upstream despite its `_total`.
        if let Some(refused) = socket_prop(src, u, "NRefused") {
            out.sample(
                "node_systemd_socket_refused_connections_total",
                "Total number of refused socket connections",
                Kind::Gauge,
                named(u),
                refused,
            );
        }
    }

    if version >= MIN_VERSION_SYSTEM_STATE {
        let state = src
            .manager_property("SystemState")
            .map_err(|e| CollectError::Other(format!("couldn't get system state: {e}")))?;
        out.gauge(
            "node_systemd_system_running",
            "Whether the system is operational (see 'systemctl is-system-running')",
            &[],
            if state.gvariant_text() == "\"running\"" {
                1.0
            } else {
                0.0
            },
        );
    }
    Ok(())
}

fn socket_prop(src: &dyn Source, u: &Unit, prop: &str) -> Option<f64> {
    match src.unit_property(&u.name, "Socket", prop) {
        Ok(p) => as_u32(p),
        Err(e) => {
            debug_skip(prop, &u.name, &e);
            None
        }
    }
}

/// systemd's manager over a D-Bus connection.
pub struct Bus(pub Conn);

/// One `ListUnits` entry as on the wire: `(ssssssouso)`.
type UnitTuple = (
    String,
    String,
    String,
    String,
    String,
    String,
    zbus::zvariant::OwnedObjectPath,
    u32,
    String,
    zbus::zvariant::OwnedObjectPath,
);

impl Source for Bus {
    fn manager_property(&self, prop: &str) -> Result<Prop, CollectError> {
        get_property(&self.0, DEST, MANAGER_PATH, MANAGER, prop).map(Prop::from)
    }

    fn list_units(&self) -> Result<Vec<Unit>, CollectError> {
        let units: Vec<UnitTuple> = self.0.call(DEST, MANAGER_PATH, MANAGER, "ListUnits", &())?;
        Ok(units
            .into_iter()
            .map(|(name, _, load_state, active_state, ..)| Unit {
                name,
                load_state,
                active_state,
            })
            .collect())
    }

    fn unit_property(&self, unit: &str, iface: &str, prop: &str) -> Result<Prop, CollectError> {
        let path = unit_path(unit);
        zbus::zvariant::ObjectPath::try_from(path.as_str())
            .map_err(|_| CollectError::Other(format!("invalid unit name: {unit}")))?;
        get_property(
            &self.0,
            DEST,
            &path,
            &format!("org.freedesktop.systemd1.{iface}"),
            prop,
        )
        .map(Prop::from)
    }
}

/// The systemd collector.
pub struct Systemd {
    opts: Options,
    private: bool,
    private_address: String,
}

impl Systemd {
    /// go-systemd's `NewWithContext` (system bus, then as root the private socket) or, with
    /// `--collector.systemd.private`, `NewSystemdConnectionContext`.
    fn connect(&self) -> Result<Bus, CollectError> {
        let private = || {
            crate::dbus::Direct::connect(&self.private_address)
                .map(|d| Conn::Direct(std::sync::Mutex::new(d)))
        };
        let conn = if self.private {
            private()
        } else {
            match crate::dbus::system_bus() {
                Ok(c) => Ok(c),
                Err(e) if rustix::process::geteuid().is_root() => {
                    tracing::debug!(error = %e, "systemd: trying the private socket");
                    private()
                }
                Err(e) => Err(e),
            }
        };
        conn.map(Bus)
            .map_err(|e| CollectError::Other(format!("couldn't get dbus connection: {e}")))
    }
}

impl NodeCollector for Systemd {
    fn new(cfg: &NodeConfig) -> Result<Self, CollectError> {
        Ok(Systemd {
            opts: Options::new(&cfg.systemd)?,
            private: cfg.systemd.private,
            private_address: cfg.systemd.private_address.clone(),
        })
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let bus = self.connect()?;
        collect_from(&bus, &self.opts, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// An in-memory systemd: a unit list, manager properties and unit properties keyed
    /// `unit/Iface/Prop`; anything absent is a D-Bus error.
    #[derive(Default)]
    struct Fake {
        units: Vec<Unit>,
        manager: HashMap<&'static str, Prop>,
        props: HashMap<String, Prop>,
        list_fails: bool,
    }

    impl Source for Fake {
        fn manager_property(&self, prop: &str) -> Result<Prop, CollectError> {
            self.manager
                .get(prop)
                .cloned()
                .ok_or_else(|| CollectError::Other(format!("no {prop}")))
        }
        fn list_units(&self) -> Result<Vec<Unit>, CollectError> {
            if self.list_fails {
                return Err(CollectError::Other("access denied".into()));
            }
            Ok(self.units.clone())
        }
        fn unit_property(&self, unit: &str, iface: &str, prop: &str) -> Result<Prop, CollectError> {
            self.props
                .get(&format!("{unit}/{iface}/{prop}"))
                .cloned()
                .ok_or_else(|| CollectError::Other("unknown property".into()))
        }
    }

    fn unit(name: &str, load: &str, active: &str) -> Unit {
        Unit {
            name: name.into(),
            load_state: load.into(),
            active_state: active.into(),
        }
    }

    fn fake() -> Fake {
        let mut f = Fake {
            units: vec![
                unit("sshd.service", "loaded", "active"),
                unit("broken.service", "loaded", "failed"),
                unit("gone.service", "not-found", "inactive"),
                unit("-.mount", "loaded", "active"),
                unit("logrotate.timer", "loaded", "active"),
                unit("dbus.socket", "loaded", "active"),
                unit("multi-user.target", "loaded", "active"),
                unit("nginx.service", "loaded", "reloading"),
            ],
            ..Default::default()
        };
        f.manager
            .insert("Version", Prop::Str("252.22-1~deb12u1".into()));
        f.manager
            .insert("Virtualization", Prop::Str("docker".into()));
        f.manager
            .insert("SystemState", Prop::Str("degraded".into()));
        let mut p = |k: &str, v: Prop| f.props.insert(k.to_string(), v);
        p("sshd.service/Service/Type", Prop::Str("notify".into()));
        p("sshd.service/Service/NRestarts", Prop::U32(3));
        p("sshd.service/Service/TasksCurrent", Prop::U64(2));
        p("sshd.service/Service/TasksMax", Prop::U64(u64::MAX));
        p(
            "sshd.service/Unit/ActiveEnterTimestamp",
            Prop::U64(1_700_000_000_123_456),
        );
        p("broken.service/Service/Type", Prop::Str("oneshot".into()));
        p("nginx.service/Service/Type", Prop::Str("forking".into()));
        p(
            "logrotate.timer/Timer/LastTriggerUSec",
            Prop::U64(1_700_000_500_000_000),
        );
        p(
            "logrotate.timer/Unit/ActiveEnterTimestamp",
            Prop::U64(1_600_000_000_000_000),
        );
        p("dbus.socket/Socket/NAccepted", Prop::U32(10));
        p("dbus.socket/Socket/NConnections", Prop::U32(4));
        p("dbus.socket/Socket/NRefused", Prop::U32(1));
        f
    }

    fn opts(flags: &[&str]) -> Options {
        use clap::{Args, FromArgMatches};
        let cmd = Flags::augment_args(clap::Command::new("t"));
        let m = cmd
            .try_get_matches_from(std::iter::once("t").chain(flags.iter().copied()))
            .unwrap();
        Options::new(&Flags::from_arg_matches(&m).unwrap()).unwrap()
    }

    fn scrape(f: &Fake, o: &Options) -> MetricSet {
        let mut out = MetricSet::new();
        collect_from(f, o, &mut out).unwrap();
        out
    }

    #[test]
    fn versions_and_virtualization() {
        assert_eq!(
            parse_version(Some("\"252.22-1~deb12u1\"")),
            (252.22, "252.22-1~deb12u1".to_string())
        );
        assert_eq!(parse_version(Some("\"257\"")), (257.0, "257".into()));
        assert_eq!(parse_version(Some("\"v12\"")), (0.0, String::new()));
        assert_eq!(parse_version(None), (0.0, String::new()));
        assert_eq!(parse_virtualization(Some("\"kvm\"")), "kvm");
        assert_eq!(parse_virtualization(Some("\"\"")), "none");
        assert_eq!(parse_virtualization(None), "unknown");
    }

    #[test]
    fn escapes_unit_paths_as_go_systemd() {
        assert_eq!(
            unit_path("dbus.service"),
            "/org/freedesktop/systemd1/unit/dbus_2eservice"
        );
        assert_eq!(path_bus_escape("-.mount"), "_2d_2emount");
        assert_eq!(path_bus_escape("1a\u{1}"), "_31a_1");
        assert_eq!(path_bus_escape(""), "_");
    }

    #[test]
    fn default_scrape() {
        let out = scrape(&fake(), &opts(&[]));
        use crate::node::testutil::assert_values;
        let st = |n: &'static str,
                  s: &'static str,
                  t: &'static str|
         -> [(&'static str, &'static str); 3] {
            [("name", n), ("state", s), ("type", t)]
        };
        let a = st("sshd.service", "active", "notify");
        let b = st("sshd.service", "failed", "notify");
        let c = st("broken.service", "failed", "oneshot");
        let d = st("logrotate.timer", "active", "");
        let e = st("nginx.service", "active", "forking");
        assert_values(
            &out,
            &[
                (
                    "node_systemd_version",
                    &[("version", "252.22-1~deb12u1")],
                    252.22,
                ),
                (
                    "node_systemd_virtualization_info",
                    &[("virtualization_type", "docker")],
                    1.0,
                ),
                ("node_systemd_units", &[("state", "active")], 5.0),
                ("node_systemd_units", &[("state", "inactive")], 1.0),
                ("node_systemd_units", &[("state", "activating")], 0.0),
                ("node_systemd_units", &[("state", "reloading")], 1.0),
                ("node_systemd_unit_state", &a, 1.0),
                ("node_systemd_unit_state", &b, 0.0),
                ("node_systemd_unit_state", &c, 1.0),
                ("node_systemd_unit_state", &d, 1.0),
                ("node_systemd_unit_state", &e, 0.0),
                (
                    "node_systemd_timer_last_trigger_seconds",
                    &[("name", "logrotate.timer")],
                    1_700_000_500.0,
                ),
                (
                    "node_systemd_socket_accepted_connections_total",
                    &[("name", "dbus.socket")],
                    10.0,
                ),
                (
                    "node_systemd_socket_current_connections",
                    &[("name", "dbus.socket")],
                    4.0,
                ),
                (
                    "node_systemd_socket_refused_connections_total",
                    &[("name", "dbus.socket")],
                    1.0,
                ),
                ("node_systemd_system_running", &[], 0.0),
            ],
        );
        // Not loaded, or excluded by default (mount): no state; optional families off.
        assert_eq!(
            out.value(
                "node_systemd_unit_state",
                &st("gone.service", "inactive", "")
            ),
            None
        );
        assert_eq!(
            out.value("node_systemd_unit_state", &st("-.mount", "active", "")),
            None
        );
        for fam in [
            "node_systemd_service_restart_total",
            "node_systemd_unit_start_time_seconds",
            "node_systemd_unit_tasks_current",
        ] {
            assert!(out.families().iter().all(|f| f.name != fam), "{fam}");
        }
        // 6 loaded, not excluded units × 5 states.
        let fam = out
            .families()
            .iter()
            .find(|f| f.name == "node_systemd_unit_state")
            .unwrap();
        assert_eq!(fam.samples.len(), 30);
        let refused = out
            .families()
            .iter()
            .find(|f| f.name == "node_systemd_socket_refused_connections_total")
            .unwrap();
        assert_eq!(refused.kind, Kind::Gauge);
    }

    #[test]
    fn optional_metrics() {
        let o = opts(&[
            "--collector.systemd.enable-task-metrics",
            "--collector.systemd.enable-restarts-metrics",
            "--collector.systemd.enable-start-time-metrics",
            "--collector.systemd.unit-include=sshd.service|broken.service|logrotate.timer",
        ]);
        let out = scrape(&fake(), &o);
        crate::node::testutil::assert_values(
            &out,
            &[
                (
                    "node_systemd_service_restart_total",
                    &[("name", "sshd.service")],
                    3.0,
                ),
                (
                    "node_systemd_unit_tasks_current",
                    &[("name", "sshd.service")],
                    2.0,
                ),
                (
                    "node_systemd_unit_start_time_seconds",
                    &[("name", "sshd.service")],
                    1_700_000_000.123456,
                ),
                (
                    "node_systemd_unit_start_time_seconds",
                    &[("name", "broken.service")],
                    0.0,
                ),
                (
                    "node_systemd_unit_start_time_seconds",
                    &[("name", "logrotate.timer")],
                    1_600_000_000.0,
                ),
            ],
        );
        // TasksMax of u64::MAX (no limit) and a missing NRestarts give no sample.
        assert_eq!(
            out.value("node_systemd_unit_tasks_max", &[("name", "sshd.service")]),
            None
        );
        assert_eq!(
            out.value(
                "node_systemd_service_restart_total",
                &[("name", "broken.service")]
            ),
            None
        );
        assert!(out
            .families()
            .iter()
            .all(|f| !f.name.starts_with("node_systemd_socket")));
    }

    #[test]
    fn old_systems_and_failures() {
        let mut f = fake();
        f.manager.insert("Version", Prop::Str("200".into()));
        f.manager.remove("Virtualization");
        let out = scrape(&f, &opts(&[]));
        assert_eq!(
            out.value(
                "node_systemd_virtualization_info",
                &[("virtualization_type", "unknown")]
            ),
            Some(1.0)
        );
        // No timers nor system state before 212.
        assert!(out
            .families()
            .iter()
            .all(|f| f.name != "node_systemd_system_running"));
        assert!(out
            .families()
            .iter()
            .all(|f| f.name != "node_systemd_timer_last_trigger_seconds"));

        let mut f = fake();
        f.manager.remove("SystemState");
        let mut out = MetricSet::new();
        assert!(collect_from(&f, &opts(&[]), &mut out).is_err());
        assert!(out
            .value("node_systemd_units", &[("state", "active")])
            .is_some());

        let f = Fake {
            list_fails: true,
            ..fake()
        };
        let mut out = MetricSet::new();
        let e = collect_from(&f, &opts(&[]), &mut out).unwrap_err();
        assert!(e.to_string().contains("couldn't get units"), "{e}");
        assert!(out
            .value("node_systemd_version", &[("version", "252.22-1~deb12u1")])
            .is_some());
    }

    #[test]
    fn flags() {
        let o = opts(&["--collector.systemd.unit-whitelist=sshd\\.service"]);
        assert!(o.include.is_match("sshd.service") && !o.include.is_match("xsshd.service"));
        let o = opts(&[]);
        assert!(o.exclude.is_match("home.mount") && !o.exclude.is_match("home.service"));
        let both = {
            use clap::{Args, FromArgMatches};
            let m = Flags::augment_args(clap::Command::new("t"))
                .try_get_matches_from([
                    "t",
                    "--collector.systemd.unit-exclude=a",
                    "--collector.systemd.unit-blacklist=b",
                ])
                .unwrap();
            Options::new(&Flags::from_arg_matches(&m).unwrap())
        };
        assert!(both.is_err());
    }

    #[test]
    fn no_bus_fails_the_scrape() {
        let cfg = NodeConfig {
            systemd: Flags {
                private: true,
                private_address: "unix:path=/nonexistent/systemd/private".into(),
                ..NodeConfig::default().systemd
            },
            ..NodeConfig::default()
        };
        let e = crate::node::testutil::collect_with("systemd", &cfg).unwrap_err();
        assert!(
            e.to_string().contains("couldn't get dbus connection"),
            "{e}"
        );
    }
}
