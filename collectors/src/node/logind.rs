//! `logind`: node_logind_sessions from systemd-logind over the system bus, as node_exporter 1.12.1's
//! `collector/logind_linux.go` (unchanged since 1.11). Disabled by default, as upstream.
//!
//! Per scrape: a connection to the system bus (godbus' `SystemBusPrivate`, EXTERNAL auth, `Hello`: see
//! [`crate::dbus`]), `ListSeats` and `ListSessions` of `org.freedesktop.login1.Manager`, then each
//! session's `Remote`, `Type` and `Class` (a session whose properties cannot be read is left out). One
//! sample per seat (plus the empty seat of seatless sessions) × remote (`true`, `false`) × each known
//! type × each known class, 0 when no session has that combination; an unknown type or class counts as
//! `other`. No bus, or failing `ListSeats`/`ListSessions`, fails the scrape (success 0) as upstream.

use crate::dbus::{get_property, Conn, Prop};
use crate::{CollectError, MetricSet};

use super::{NodeCollector, NodeConfig};

const DEST: &str = "org.freedesktop.login1";
const PATH: &str = "/org/freedesktop/login1";
const MANAGER: &str = "org.freedesktop.login1.Manager";
const SESSION: &str = "org.freedesktop.login1.Session";

/// Upstream's label values, in its order.
pub const REMOTE_VALUES: [&str; 2] = ["true", "false"];
pub const TYPE_VALUES: [&str; 7] = [
    "other",
    "unspecified",
    "tty",
    "x11",
    "wayland",
    "mir",
    "web",
];
pub const CLASS_VALUES: [&str; 5] = ["other", "user", "greeter", "lock-screen", "background"];

/// One entry of `ListSessions` (the fields used here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionEntry {
    pub seat: String,
    pub path: String,
}

/// A session's labels.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Session {
    pub seat: String,
    pub remote: String,
    pub session_type: String,
    pub class: String,
}

/// What the collector asks logind.
pub trait Source {
    /// The seat IDs (`ListSeats`).
    fn list_seats(&self) -> Result<Vec<String>, CollectError>;
    fn list_sessions(&self) -> Result<Vec<SessionEntry>, CollectError>;
    /// A session property (`Remote`, `Type`, `Class`) of the session object at `path`.
    fn session_property(&self, path: &str, prop: &str) -> Result<Prop, CollectError>;
}

/// `value` if it is one of `known`, else `other`.
pub fn known_or_other(value: &str, known: &[&str]) -> String {
    if known.contains(&value) {
        value.to_string()
    } else {
        "other".to_string()
    }
}

/// A session's labels, or `None` when a property is unreadable or not a string (upstream drops it).
fn session(src: &dyn Source, e: &SessionEntry) -> Option<Session> {
    let remote = src.session_property(&e.path, "Remote").ok()?;
    let Prop::Str(session_type) = src.session_property(&e.path, "Type").ok()? else {
        return None;
    };
    let Prop::Str(class) = src.session_property(&e.path, "Class").ok()? else {
        return None;
    };
    Some(Session {
        seat: e.seat.clone(),
        // godbus' Variant.String() of the boolean: `true` / `false`.
        remote: remote.gvariant_text(),
        session_type: known_or_other(&session_type, &TYPE_VALUES),
        class: known_or_other(&class, &CLASS_VALUES),
    })
}

/// One scrape over `src`.
pub fn collect_from(src: &dyn Source, out: &mut MetricSet) -> Result<(), CollectError> {
    let mut seats = src
        .list_seats()
        .map_err(|e| CollectError::Other(format!("unable to get seats: {e}")))?;
    seats.push(String::new());
    let entries = src
        .list_sessions()
        .map_err(|e| CollectError::Other(format!("unable to get sessions: {e}")))?;
    let sessions: Vec<Session> = entries.iter().filter_map(|e| session(src, e)).collect();
    for remote in REMOTE_VALUES {
        for session_type in TYPE_VALUES {
            for class in CLASS_VALUES {
                for seat in &seats {
                    let n = sessions
                        .iter()
                        .filter(|s| {
                            s.seat == *seat
                                && s.remote == remote
                                && s.session_type == session_type
                                && s.class == class
                        })
                        .count();
                    out.gauge(
                        "node_logind_sessions",
                        "Number of sessions registered in logind.",
                        &[
                            ("seat", seat),
                            ("remote", remote),
                            ("type", session_type),
                            ("class", class),
                        ],
                        n as f64,
                    );
                }
            }
        }
    }
    Ok(())
}

/// logind over a system bus connection.
pub struct Bus(pub Conn);

type OwnedPath = zbus::zvariant::OwnedObjectPath;

impl Source for Bus {
    fn list_seats(&self) -> Result<Vec<String>, CollectError> {
        let seats: Vec<(String, OwnedPath)> = self.0.call(DEST, PATH, MANAGER, "ListSeats", &())?;
        Ok(seats.into_iter().map(|(id, _)| id).collect())
    }

    fn list_sessions(&self) -> Result<Vec<SessionEntry>, CollectError> {
        let sessions: Vec<(String, u32, String, String, OwnedPath)> =
            self.0.call(DEST, PATH, MANAGER, "ListSessions", &())?;
        Ok(sessions
            .into_iter()
            .map(|(_, _, _, seat, path)| SessionEntry {
                seat,
                path: path.as_str().to_string(),
            })
            .collect())
    }

    fn session_property(&self, path: &str, prop: &str) -> Result<Prop, CollectError> {
        get_property(&self.0, DEST, path, SESSION, prop).map(Prop::from)
    }
}

/// The logind collector.
pub struct Logind;

impl NodeCollector for Logind {
    fn new(_: &NodeConfig) -> Result<Self, CollectError> {
        Ok(Logind)
    }

    fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
        let bus = crate::dbus::system_bus()
            .map(Bus)
            .map_err(|e| CollectError::Other(format!("unable to connect to dbus: {e}")))?;
        collect_from(&bus, out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Fake {
        seats: Vec<String>,
        sessions: Vec<SessionEntry>,
        props: HashMap<String, Prop>,
    }

    impl Source for Fake {
        fn list_seats(&self) -> Result<Vec<String>, CollectError> {
            Ok(self.seats.clone())
        }
        fn list_sessions(&self) -> Result<Vec<SessionEntry>, CollectError> {
            Ok(self.sessions.clone())
        }
        fn session_property(&self, path: &str, prop: &str) -> Result<Prop, CollectError> {
            self.props
                .get(&format!("{path}/{prop}"))
                .cloned()
                .ok_or_else(|| CollectError::Other("no such property".into()))
        }
    }

    fn entry(seat: &str, path: &str) -> SessionEntry {
        SessionEntry {
            seat: seat.into(),
            path: path.into(),
        }
    }

    #[test]
    fn counts_sessions_per_label_set() {
        let mut f = Fake {
            seats: vec!["seat0".into()],
            sessions: vec![
                entry("seat0", "/s/1"),
                entry("", "/s/2"),
                entry("", "/s/3"),
                entry("", "/s/4"),
            ],
            ..Default::default()
        };
        for (s, remote, ty, class) in [
            ("/s/1", false, "x11", "user"),
            ("/s/2", true, "tty", "user"),
            ("/s/3", true, "teletype", "manager"),
        ] {
            f.props.insert(format!("{s}/Remote"), Prop::Bool(remote));
            f.props.insert(format!("{s}/Type"), Prop::Str(ty.into()));
            f.props
                .insert(format!("{s}/Class"), Prop::Str(class.into()));
        }
        // /s/4 has no properties: left out.
        let mut out = MetricSet::new();
        collect_from(&f, &mut out).unwrap();
        let fam = &out.families()[0];
        assert_eq!(fam.samples.len(), 2 * 7 * 5 * 2);
        let l = |seat, remote, ty, class| {
            [
                ("seat", seat),
                ("remote", remote),
                ("type", ty),
                ("class", class),
            ]
        };
        crate::node::testutil::assert_values(
            &out,
            &[
                (
                    "node_logind_sessions",
                    &l("seat0", "false", "x11", "user"),
                    1.0,
                ),
                ("node_logind_sessions", &l("", "true", "tty", "user"), 1.0),
                (
                    "node_logind_sessions",
                    &l("", "true", "other", "other"),
                    1.0,
                ),
                (
                    "node_logind_sessions",
                    &l("seat0", "true", "tty", "user"),
                    0.0,
                ),
            ],
        );
    }

    #[test]
    fn known_values() {
        assert_eq!(known_or_other("wayland", &TYPE_VALUES), "wayland");
        assert_eq!(known_or_other("user-early", &CLASS_VALUES), "other");
    }
}
