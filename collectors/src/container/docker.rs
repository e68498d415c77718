//! Docker discovery: which containers run, with their names, images and init PIDs, from the Docker Engine API
//! (bollard over the unix socket, API version negotiated: 1.41 on Docker 20.10, 1.44+ on Docker 25–29).
//!
//! One task follows the daemon's container events (start, die, rename, …) and keeps a [`Snapshot`]; the
//! collector reads that snapshot at scrape time and the numbers from the cgroup files. Nothing polls: between
//! scrapes the agent sleeps on the event stream. When the daemon is missing or goes away, the family reports
//! `hostlens_container_runtime_up 0` with the reason (logged once), keeps serving the root cgroup, and retries.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use bollard::models::SystemInfoCgroupDriverEnum;
use bollard::query_parameters::{EventsOptions, ListContainersOptions};
use bollard::Docker;
use futures_util::StreamExt;

use super::{CgroupDriver, ContainerInfo, ContainerSource, Snapshot};

/// Where and how to reach Docker.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    /// `unix:///var/run/docker.sock` or a plain socket path.
    pub host: String,
    /// Docker labels exported as `container_label_<key>` (cAdvisor's naming); empty: none.
    pub label_allowlist: Vec<String>,
    /// Wait between reconnection attempts while the daemon is unreachable.
    pub retry: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            host: "unix:///var/run/docker.sock".into(),
            label_allowlist: Vec::new(),
            retry: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The Docker side of the container family: a snapshot kept current by a background task.
pub struct DockerSource {
    state: RwLock<Snapshot>,
    /// Becomes true once the first attempt (successful or not) is over; `--once` waits for it.
    ready: tokio::sync::watch::Sender<bool>,
}

impl ContainerSource for DockerSource {
    fn snapshot(&self) -> Snapshot {
        match self.state.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }
}

impl DockerSource {
    /// Start following Docker on the current tokio runtime.
    pub fn spawn(cfg: DockerConfig) -> Arc<Self> {
        let (ready, _) = tokio::sync::watch::channel(false);
        let src = Arc::new(DockerSource {
            state: RwLock::new(Snapshot {
                runtime_up: false,
                reason: Some("not connected yet".into()),
                ..Snapshot::default()
            }),
            ready,
        });
        let task_src = src.clone();
        tokio::spawn(async move { task_src.run(cfg).await });
        src
    }

    /// Wait (at most `timeout`) until the first connection attempt is over, so that a one-shot scrape sees the
    /// containers.
    pub async fn wait_ready(&self, timeout: Duration) {
        let mut rx = self.ready.subscribe();
        let _ = tokio::time::timeout(timeout, rx.wait_for(|r| *r)).await;
    }

    fn update(&self, f: impl FnOnce(&mut Snapshot)) {
        let mut guard = match self.state.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        f(&mut guard);
    }

    async fn run(self: Arc<Self>, cfg: DockerConfig) {
        let mut last_error: Option<String> = None;
        loop {
            let err = self.follow(&cfg, last_error.is_some()).await;
            let mut reason = format!("{err:#}");
            if reason.contains("ermission denied") {
                reason.push_str(
                    " (this user may not use the socket: run the agent as root, or give it the socket's group, \
                     e.g. docker, which is root-equivalent)",
                );
            }
            if last_error.as_deref() != Some(reason.as_str()) {
                tracing::warn!(
                    "container family: Docker at {} is unreachable: {reason}; reporting the root cgroup only \
                     and retrying every {:?} (the node and ebpf families are unaffected)",
                    cfg.host,
                    cfg.retry
                );
                last_error = Some(reason.clone());
            }
            self.update(|s| {
                s.runtime_up = false;
                s.reason = Some(reason);
                s.containers.clear();
            });
            self.ready.send_replace(true);
            tokio::time::sleep(cfg.retry).await;
        }
    }

    /// Connect, list, then follow events until something fails; returns why it stopped.
    async fn follow(&self, cfg: &DockerConfig, reconnecting: bool) -> DockerError {
        let docker = match connect(cfg).await {
            Ok(d) => d,
            Err(e) => return e,
        };
        let driver = match docker.info().await {
            Ok(info) => match info.cgroup_driver {
                Some(SystemInfoCgroupDriverEnum::SYSTEMD) => Some(CgroupDriver::Systemd),
                Some(SystemInfoCgroupDriverEnum::CGROUPFS) => Some(CgroupDriver::Cgroupfs),
                _ => None,
            },
            Err(e) => return DockerError::api("GET /info", e),
        };
        // Subscribe before listing, so that nothing that happens in between is missed.
        let mut filters = HashMap::new();
        filters.insert("type".to_string(), vec!["container".to_string()]);
        let mut events = docker.events(Some(EventsOptions {
            filters: Some(filters),
            ..Default::default()
        }));
        let list = match docker
            .list_containers(Some(ListContainersOptions::default()))
            .await
        {
            Ok(l) => l,
            Err(e) => return DockerError::api("GET /containers/json", e),
        };
        let mut known: BTreeMap<String, ContainerInfo> = BTreeMap::new();
        for c in list {
            let Some(id) = c.id else { continue };
            match inspect(&docker, &id, cfg).await {
                Ok(Some(info)) => {
                    known.insert(id, info);
                }
                Ok(None) => {}
                Err(e) => return e,
            }
        }
        let version = docker.client_version();
        tracing::info!(
            "container family: {} Docker at {} (API {}.{}, cgroup driver {}): {} running container(s)",
            if reconnecting {
                "reconnected to"
            } else {
                "following"
            },
            cfg.host,
            version.major_version,
            version.minor_version,
            match driver {
                Some(CgroupDriver::Cgroupfs) => "cgroupfs",
                Some(CgroupDriver::Systemd) => "systemd",
                None => "unknown",
            },
            known.len()
        );
        self.publish(&known, driver);
        self.ready.send_replace(true);
        while let Some(ev) = events.next().await {
            let ev = match ev {
                Ok(ev) => ev,
                Err(e) => return DockerError::api("following GET /events", e),
            };
            let (Some(action), Some(id)) = (ev.action, ev.actor.and_then(|a| a.id)) else {
                continue;
            };
            match event_effect(&action) {
                Effect::Refresh => match inspect(&docker, &id, cfg).await {
                    Ok(Some(info)) => {
                        known.insert(id, info);
                    }
                    Ok(None) => {
                        known.remove(&id);
                    }
                    Err(e) => return e,
                },
                Effect::Remove => {
                    known.remove(&id);
                }
                Effect::None => continue,
            }
            self.publish(&known, driver);
        }
        DockerError::Closed
    }

    fn publish(&self, known: &BTreeMap<String, ContainerInfo>, driver: Option<CgroupDriver>) {
        let mut containers: Vec<ContainerInfo> = known.values().cloned().collect();
        containers.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.id.cmp(&b.id)));
        self.update(|s| {
            s.runtime_up = true;
            s.reason = None;
            s.driver = driver;
            s.containers = containers;
        });
    }
}

/// Why the Docker side is not following the daemon.
#[derive(Debug, thiserror::Error)]
pub enum DockerError {
    #[error("connecting to {host}: {source}")]
    Connect {
        host: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("{what}: {source}")]
    Api {
        what: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("the daemon closed the event stream")]
    Closed,
}

impl DockerError {
    fn api(what: &'static str, source: bollard::errors::Error) -> Self {
        DockerError::Api { what, source }
    }
}

async fn connect(cfg: &DockerConfig) -> Result<Docker, DockerError> {
    let conn = |source| DockerError::Connect {
        host: cfg.host.clone(),
        source,
    };
    let docker = Docker::connect_with_unix(
        &cfg.host,
        cfg.timeout.as_secs().max(1),
        bollard::API_DEFAULT_VERSION,
    )
    .map_err(conn)?;
    // Talk the daemon's API version when it is older than the client's (Docker 20.10 speaks 1.41).
    docker.negotiate_version().await.map_err(conn)
}

/// What a container event means for the list of running containers.
#[derive(Debug, PartialEq, Eq)]
enum Effect {
    /// Inspect it again (it started, was renamed, unpaused…): running → keep, else drop.
    Refresh,
    /// It stopped or is gone.
    Remove,
    /// Nothing that changes the list (exec, attach, health checks, …).
    None,
}

fn event_effect(action: &str) -> Effect {
    // Health checks arrive as "exec_start: /bin/sh -c …" (ignored) and "health_status: healthy" (inspected
    // again: container_health_state).
    match action.split(':').next().unwrap_or(action).trim() {
        "start" | "restart" | "rename" | "unpause" | "update" | "health_status" => Effect::Refresh,
        "die" | "stop" | "kill" | "destroy" | "oom" => Effect::Remove,
        _ => Effect::None,
    }
}

/// Inspect one container: `Ok(None)` when it is not running (or vanished in the meantime).
async fn inspect(
    docker: &Docker,
    id: &str,
    cfg: &DockerConfig,
) -> Result<Option<ContainerInfo>, DockerError> {
    let r = match docker.inspect_container(id, None).await {
        Ok(r) => r,
        Err(bollard::errors::Error::DockerResponseServerError {
            status_code: 404, ..
        }) => return Ok(None),
        Err(e) => return Err(DockerError::api("GET /containers/{id}/json", e)),
    };
    let state = r.state.unwrap_or_default();
    if state.running != Some(true) {
        return Ok(None);
    }
    let config = r.config.unwrap_or_default();
    let host_config = r.host_config.unwrap_or_default();
    let network_mode = host_config.network_mode.unwrap_or_default();
    let labels = config.labels.unwrap_or_default();
    Ok(Some(ContainerInfo {
        id: r.id.unwrap_or_else(|| id.to_string()),
        name: r
            .name
            .unwrap_or_default()
            .trim_start_matches('/')
            .to_string(),
        image: config.image.unwrap_or_default(),
        pid: state
            .pid
            .and_then(|p| u32::try_from(p).ok())
            .filter(|&p| p > 0),
        created: r.created.as_deref().and_then(parse_rfc3339),
        started: state.started_at.as_deref().and_then(parse_rfc3339),
        cgroup_parent: host_config.cgroup_parent.unwrap_or_default(),
        shares_network: network_mode == "host" || network_mode.starts_with("container:"),
        extra_labels: allowed_labels(&labels, &cfg.label_allowlist),
        health_status: state
            .health
            .and_then(|h| h.status)
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }))
}

/// The allowed Docker labels, named as cAdvisor names them: `container_label_` + the key with every character
/// that is not `[a-zA-Z0-9_]` replaced by `_` (client_golang's label-name sanitizing). A listed label the
/// container lacks is exported empty, so every series of the family has the same label names.
pub fn allowed_labels(labels: &HashMap<String, String>, allow: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = allow
        .iter()
        .map(|k| {
            (
                format!("container_label_{}", sanitize_label_name(k)),
                labels.get(k).cloned().unwrap_or_default(),
            )
        })
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// `[^a-zA-Z0-9_]` → `_`.
pub fn sanitize_label_name(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Seconds since the epoch of a Docker timestamp (`2026-11-25T01:02:03.123456789Z`, RFC 3339, always UTC
/// from the daemon, but offsets are honoured). Docker's zero time (`0001-01-01T00:00:00Z`, never started) and
/// anything unparsable give `None`.
pub fn parse_rfc3339(s: &str) -> Option<f64> {
    let s = s.trim();
    let (date, rest) = s.split_once(['T', 't', ' '])?;
    let mut d = date.splitn(3, '-');
    let year: i64 = d.next()?.parse().ok()?;
    let month: u32 = d.next()?.parse().ok()?;
    let day: u32 = d.next()?.parse().ok()?;
    if year < 1970 || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (time, offset_secs) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0i64)
    } else {
        let i = rest.rfind(['+', '-'])?;
        let (t, off) = rest.split_at(i);
        let sign = if off.starts_with('-') { -1 } else { 1 };
        let (oh, om) = off[1..].split_once(':')?;
        let oh: i64 = oh.parse().ok()?;
        let om: i64 = om.parse().ok()?;
        (t, sign * (oh * 3600 + om * 60))
    };
    let mut t = time.splitn(3, ':');
    let h: i64 = t.next()?.parse().ok()?;
    let m: i64 = t.next()?.parse().ok()?;
    let sec: f64 = t.next()?.parse().ok()?;
    if h > 23 || m > 59 || !(0.0..61.0).contains(&sec) {
        return None;
    }
    let days = days_from_civil(year, month, day);
    Some((days * 86_400 + h * 3600 + m * 60 - offset_secs) as f64 + sec)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_timestamps() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0.0));
        assert_eq!(parse_rfc3339("2026-11-25T01:02:03Z"), Some(1_795_568_523.0));
        let t = parse_rfc3339("2026-11-25T01:02:03.5Z").unwrap();
        assert!((t - 1_795_568_523.5).abs() < 1e-6);
        // Nanoseconds as the daemon prints them.
        let t = parse_rfc3339("2026-11-25T01:02:03.123456789Z").unwrap();
        assert!((t - 1_795_568_523.123_457).abs() < 1e-5);
        assert_eq!(
            parse_rfc3339("2026-11-25T02:02:03+01:00"),
            Some(1_795_568_523.0)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400.0));
        // Docker's "never" and garbage.
        assert_eq!(parse_rfc3339("0001-01-01T00:00:00Z"), None);
        assert_eq!(parse_rfc3339(""), None);
        assert_eq!(parse_rfc3339("yesterday"), None);
        assert_eq!(parse_rfc3339("2026-13-01T00:00:00Z"), None);
    }

    #[test]
    fn events_that_change_the_list() {
        assert_eq!(event_effect("start"), Effect::Refresh);
        assert_eq!(event_effect("rename"), Effect::Refresh);
        assert_eq!(event_effect("die"), Effect::Remove);
        assert_eq!(event_effect("destroy"), Effect::Remove);
        assert_eq!(event_effect("exec_start: /bin/sh -c true"), Effect::None);
        // A health check changed its result: inspect again for State.Health (container_health_state).
        assert_eq!(event_effect("health_status: healthy"), Effect::Refresh);
        assert_eq!(event_effect("attach"), Effect::None);
    }

    #[test]
    fn only_listed_labels_named_as_cadvisor_names_them() {
        let mut l = HashMap::new();
        l.insert(
            "com.docker.compose.service".to_string(),
            "grafana".to_string(),
        );
        l.insert("secret.env".to_string(), "x".to_string());
        let out = allowed_labels(&l, &["com.docker.compose.service".into(), "team".into()]);
        assert_eq!(
            out,
            vec![
                (
                    "container_label_com_docker_compose_service".to_string(),
                    "grafana".to_string()
                ),
                ("container_label_team".to_string(), String::new()),
            ]
        );
        assert!(allowed_labels(&l, &[]).is_empty());
    }
}
