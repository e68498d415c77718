//! Docker discovery: which containers run, with their names, images and init PIDs, from the Docker Engine API
//! (bollard over the unix socket, API version negotiated: 1.41 on Docker 20.10, 1.44+ on Docker 25–29).
//!
//! One task follows the daemon's container events (start, die, rename, …) and keeps a [`Snapshot`]; the
//! collector reads that snapshot at scrape time and the numbers from the cgroup files. Nothing polls: between
//! scrapes the agent sleeps on the event stream.
//!
//! - An event that does not end a container (kill with any signal, oom, pause, unpause, rename, restart,
//!   update, health status, anything new) means "inspect it again": a running container stays. Only `die`,
//!   `stop` and `destroy` take it out; exec, attach and the like change nothing we report and are ignored.
//! - When the event stream ends (the daemon restarts, or a proxy drops the connection), the task reconnects
//!   at once, then with a backoff from 100 ms doubling up to `--container.docker-retry`, and resynchronises
//!   with a list. Meanwhile the last known containers keep being served (their cgroups say when one is gone:
//!   the collector skips a container whose cgroup disappeared), with `hostlens_container_runtime_up 0` and
//!   the reason once a reconnection attempt has failed (logged once per distinct reason).
//! - When the daemon is missing from the start, only the root cgroup is served, and the task keeps trying.
//! - Labels as cAdvisor 0.60 exports them: every Docker label (`Config.Labels`, which includes the image's) as
//!   `container_label_<sanitized key>` unless narrowed ([`LabelPolicy`]), `restartcount` when Docker restarted
//!   the container, and `container_env_<lowercased key>` for the environment variables whose names start
//!   with one of `--container.env-metadata-allowlist` (none by default).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bollard::models::SystemInfoCgroupDriverEnum;
use bollard::query_parameters::{EventsOptions, ListContainersOptions};
use bollard::Docker;
use futures_util::StreamExt;

use super::fs::DockerStorage;
use super::{CgroupDriver, ContainerInfo, ContainerSource, Snapshot};

/// Where and how to reach Docker.
#[derive(Debug, Clone)]
pub struct DockerConfig {
    /// `unix:///var/run/docker.sock` or a plain socket path.
    pub host: String,
    /// Which Docker labels are exported as `container_label_<key>` (cAdvisor's naming).
    pub labels: LabelPolicy,
    /// Environment variables whose name starts with one of these are exported as `container_env_<name>`
    /// (cAdvisor's `--env_metadata_whitelist`); empty: none.
    pub env_prefixes: Vec<String>,
    /// The longest wait between reconnection attempts while the daemon is unreachable (the backoff starts
    /// at [`FIRST_BACKOFF`] and doubles up to this).
    pub retry: Duration,
    /// Per-request timeout.
    pub timeout: Duration,
}

impl Default for DockerConfig {
    fn default() -> Self {
        DockerConfig {
            host: "unix:///var/run/docker.sock".into(),
            labels: LabelPolicy::All,
            env_prefixes: Vec::new(),
            retry: Duration::from_secs(10),
            timeout: Duration::from_secs(10),
        }
    }
}

/// Which Docker labels become `container_label_*` series labels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelPolicy {
    /// Every label of the container: cAdvisor's default (`--store_container_labels=true`).
    All,
    /// Only these keys; empty: none (cAdvisor's `--store_container_labels=false` with
    /// `--whitelisted_container_labels`).
    Only(Vec<String>),
}

/// The first wait after a failed reconnection attempt; each further failure doubles it, up to
/// [`DockerConfig::retry`].
pub const FIRST_BACKOFF: Duration = Duration::from_millis(100);

/// A session with the daemon shorter than this (connected, listed, then the stream ended) counts as a
/// failure for the backoff, so that a daemon or proxy that drops every stream at once is not hammered.
const SHORT_SESSION: Duration = Duration::from_secs(1);

/// The wait before reconnection attempt `failures` (1 = after the first failure).
pub fn backoff(failures: u32, max: Duration) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32 << (failures - 1).min(16);
    FIRST_BACKOFF
        .saturating_mul(factor)
        .min(max.max(FIRST_BACKOFF))
}

/// The Docker side of the container family: a snapshot kept current by a background task.
pub struct DockerSource {
    state: RwLock<Snapshot>,
    /// Becomes true once the first attempt (successful or not) is over; `--once` waits for it.
    ready: tokio::sync::watch::Sender<bool>,
    /// The daemon's storage driver and root directory (`GET /info`), for the filesystem usage.
    storage: RwLock<Option<DockerStorage>>,
}

impl ContainerSource for DockerSource {
    fn snapshot(&self) -> Snapshot {
        match self.state.read() {
            Ok(s) => s.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn storage(&self) -> Option<DockerStorage> {
        match self.storage.read() {
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
            storage: RwLock::new(None),
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
        let mut attempted = false;
        let mut failures: u32 = 0;
        loop {
            let started = Instant::now();
            match self.follow(&cfg, attempted).await {
                Ended::Stream(err) => {
                    tracing::info!(
                        "container family: {err:#} (Docker at {}); reconnecting, and serving the last known \
                         containers meanwhile",
                        cfg.host
                    );
                    last_error = None;
                    failures = if started.elapsed() < SHORT_SESSION {
                        failures.saturating_add(1)
                    } else {
                        0
                    };
                }
                Ended::Unreachable(err) => {
                    let reason = reason_of(&err);
                    if last_error.as_deref() != Some(reason.as_str()) {
                        let kept = self.snapshot().containers.len();
                        tracing::warn!(
                            "container family: Docker at {} is unreachable: {reason}; {} and retrying (backoff \
                             up to {:?}; the node and ebpf families are unaffected)",
                            cfg.host,
                            if kept == 0 {
                                "reporting the root cgroup only".to_string()
                            } else {
                                format!("serving the {kept} last known container(s) until it answers")
                            },
                            cfg.retry
                        );
                        last_error = Some(reason.clone());
                    }
                    // The last known containers stay: after a daemon restart (or with live-restore) they
                    // are still running, and one that is not has lost its cgroup, which the collector sees.
                    self.update(|s| {
                        s.runtime_up = false;
                        s.reason = Some(reason);
                    });
                    self.ready.send_replace(true);
                    failures = failures.saturating_add(1);
                }
            }
            attempted = true;
            tokio::time::sleep(backoff(failures, cfg.retry)).await;
        }
    }

    /// Connect, list, then follow events until something fails or the stream ends.
    async fn follow(&self, cfg: &DockerConfig, reconnecting: bool) -> Ended {
        let docker = match connect(cfg).await {
            Ok(d) => d,
            Err(e) => return Ended::Unreachable(e),
        };
        let driver = match docker.info().await {
            Ok(info) => match (info.driver, info.docker_root_dir) {
                (Some(driver), Some(root_dir)) => {
                    *self.storage.write().unwrap_or_else(|p| p.into_inner()) =
                        Some(DockerStorage { driver, root_dir });
                    info.cgroup_driver
                }
                _ => info.cgroup_driver,
            },
            Err(e) => return Ended::Unreachable(DockerError::api("GET /info", e)),
        };
        let driver = match driver {
            Some(SystemInfoCgroupDriverEnum::SYSTEMD) => Some(CgroupDriver::Systemd),
            Some(SystemInfoCgroupDriverEnum::CGROUPFS) => Some(CgroupDriver::Cgroupfs),
            _ => None,
        };
        // bollard sends the events request only when the stream is first polled, after the list: ask for
        // the events since just before the list, so that nothing that happens in between is missed (a
        // replayed event is harmless: events are applied in order, and the last one for a container says
        // whether it runs).
        let mut filters = HashMap::new();
        filters.insert("type".to_string(), vec!["container".to_string()]);
        let mut events = docker.events(Some(EventsOptions {
            since: Some(since_now(Duration::from_secs(1))),
            filters: Some(filters),
            ..Default::default()
        }));
        let list = match docker
            .list_containers(Some(ListContainersOptions::default()))
            .await
        {
            Ok(l) => l,
            Err(e) => return Ended::Unreachable(DockerError::api("GET /containers/json", e)),
        };
        let mut known: BTreeMap<String, ContainerInfo> = BTreeMap::new();
        for c in list {
            let Some(id) = c.id else { continue };
            match inspect(&docker, &id, cfg).await {
                Ok(Some(info)) => {
                    known.insert(id, info);
                }
                Ok(None) => {}
                Err(e) => return Ended::Unreachable(e),
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
                Err(e) => return Ended::Stream(DockerError::api("following GET /events", e)),
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
                    Err(e) => return Ended::Stream(e),
                },
                Effect::Remove => {
                    known.remove(&id);
                }
                Effect::None => continue,
            }
            self.publish(&known, driver);
        }
        Ended::Stream(DockerError::Closed)
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

/// How one session with the daemon ended.
enum Ended {
    /// It never got as far as a list: the daemon does not answer (or not as it should).
    Unreachable(DockerError),
    /// It listed and followed the events, then the stream ended, or a request while following failed.
    Stream(DockerError),
}

/// The reason logged and exported for an unreachable daemon.
fn reason_of(err: &DockerError) -> String {
    let mut reason = format!("{err:#}");
    if reason.contains("ermission denied") {
        reason.push_str(
            " (this user may not use the socket: run the agent as root, or give it the socket's group, \
             e.g. docker, which is root-equivalent)",
        );
    }
    reason
}

/// Docker's `since` for "from `ago` before now on" (Unix seconds with nanoseconds, as the daemon parses it).
fn since_now(ago: Duration) -> String {
    let t = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .saturating_sub(ago);
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
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
    /// Inspect it again: running → keep (with its new name, PID, labels…), else drop. Every event that
    /// does not end the container, including ones this code does not know.
    Refresh,
    /// It ended (`die`, `stop`, `destroy`): no need to ask.
    Remove,
    /// Nothing that changes what we report (exec, attach, resize, copy, …): health checks alone send three
    /// of these per probe, which would otherwise be an inspect each.
    None,
}

fn event_effect(action: &str) -> Effect {
    // Health checks arrive as "exec_start: /bin/sh -c …" (ignored) and "health_status: healthy" (inspected
    // again: container_health_state).
    match action.split(':').next().unwrap_or(action).trim() {
        "die" | "stop" | "destroy" => Effect::Remove,
        "exec_create" | "exec_start" | "exec_die" | "exec_detach" | "attach" | "detach"
        | "resize" | "top" | "copy" | "archive-path" | "extract-to-dir" | "export" | "commit" => {
            Effect::None
        }
        // start, restart, rename, pause, unpause, update, kill (any signal: HUP does not end it), oom (a
        // child killed, PID 1 alive), health_status, create, and anything newer daemons send.
        _ => Effect::Refresh,
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
    let mut labels = config.labels.unwrap_or_default();
    // cAdvisor adds Docker's restart count (restarts by the restart policy) as a label when not zero.
    if let Some(n) = r.restart_count.filter(|&n| n > 0) {
        labels.insert("restartcount".into(), n.to_string());
    }
    let env = config.env.unwrap_or_default();
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
        extra_labels: container_labels(&labels, &env, &cfg.labels, &cfg.env_prefixes),
        health_status: state
            .health
            .and_then(|h| h.status)
            .map(|s| s.to_string())
            .unwrap_or_default(),
    }))
}

/// The series labels of a container's Docker labels and environment, named as cAdvisor 0.60 names them
/// (`DefaultContainerLabels` / `BaseContainerLabels`):
/// - each Docker label the policy lets through as `container_label_` + the key with every character that is
///   not `[a-zA-Z0-9_]` replaced by `_` (`com.docker.compose.service` → `container_label_com_docker_compose_
///   service`); two keys that sanitize alike (`a.b`, `a_b`) give one label, the value of the first key in
///   byte order (cAdvisor keeps whichever its map yields first);
/// - each `NAME=value` of the environment whose NAME starts with one of `env_prefixes` as `container_env_` +
///   the lowercased, sanitized NAME (cAdvisor lowercases the key; a later duplicate wins, as in its map).
///
/// Only the labels the container has: the collector gives every series the union of all containers' label
/// names, empty where a container lacks one, as cAdvisor does. Sorted by name.
pub fn container_labels(
    labels: &HashMap<String, String>,
    env: &[String],
    policy: &LabelPolicy,
    env_prefixes: &[String],
) -> Vec<(String, String)> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let sorted: BTreeMap<&String, &String> = labels.iter().collect();
    for (k, v) in sorted {
        let wanted = match policy {
            LabelPolicy::All => true,
            LabelPolicy::Only(keys) => keys.iter().any(|w| w == k),
        };
        if wanted {
            out.entry(format!("container_label_{}", sanitize_label_name(k)))
                .or_insert_with(|| v.clone());
        }
    }
    let mut envs: BTreeMap<String, String> = BTreeMap::new();
    for var in env {
        let Some((name, value)) = var.split_once('=') else {
            continue;
        };
        if env_prefixes
            .iter()
            .any(|p| !p.is_empty() && name.starts_with(p.as_str()))
        {
            envs.insert(name.to_lowercase(), value.to_string());
        }
    }
    for (name, value) in envs {
        out.entry(format!("container_env_{}", sanitize_label_name(&name)))
            .or_insert(value);
    }
    out.into_iter().collect()
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
        // Only the end of a container removes it without asking.
        for a in ["die", "stop", "destroy"] {
            assert_eq!(event_effect(a), Effect::Remove, "{a}");
        }
        // Everything else that may change it is looked at again: a running container stays.
        for a in [
            "start",
            "restart",
            "rename",
            "pause",
            "unpause",
            "update",
            "kill",
            "oom",
            "create",
            "health_status: unhealthy",
            "some_future_action",
        ] {
            assert_eq!(event_effect(a), Effect::Refresh, "{a}");
        }
        for a in [
            "exec_create: /bin/sh -c true",
            "exec_start: /bin/sh -c true",
            "exec_die",
            "attach",
            "detach",
            "resize",
            "top",
            "copy",
            "archive-path",
            "extract-to-dir",
            "export",
            "commit",
        ] {
            assert_eq!(event_effect(a), Effect::None, "{a}");
        }
    }

    fn map(kv: &[(&str, &str)]) -> HashMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn pairs(kv: &[(&str, &str)]) -> Vec<(String, String)> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn every_label_by_default_named_as_cadvisor_names_them() {
        let l = map(&[
            ("com.docker.compose.service", "grafana"),
            ("org.label-schema.group", "monitoring"),
            ("maintainer", "someone@example.org"),
            ("empty", ""),
        ]);
        assert_eq!(
            container_labels(&l, &[], &LabelPolicy::All, &[]),
            pairs(&[
                ("container_label_com_docker_compose_service", "grafana"),
                ("container_label_empty", ""),
                ("container_label_maintainer", "someone@example.org"),
                ("container_label_org_label_schema_group", "monitoring"),
            ])
        );
        // No labels, no extra series labels.
        assert!(container_labels(&HashMap::new(), &[], &LabelPolicy::All, &[]).is_empty());
    }

    #[test]
    fn an_allowlist_narrows_to_the_listed_labels_the_container_has() {
        let l = map(&[
            ("com.docker.compose.service", "grafana"),
            ("secret.token", "x"),
        ]);
        let only = LabelPolicy::Only(vec!["com.docker.compose.service".into(), "team".into()]);
        // `team` is not on this container: not exported here (the collector adds it empty if another
        // container has it).
        assert_eq!(
            container_labels(&l, &[], &only, &[]),
            pairs(&[("container_label_com_docker_compose_service", "grafana")])
        );
        assert!(container_labels(&l, &[], &LabelPolicy::Only(vec![]), &[]).is_empty());
    }

    #[test]
    fn keys_that_sanitize_alike_give_one_label() {
        let l = map(&[("a.b", "dot"), ("a_b", "underscore"), ("a-b", "dash")]);
        // Byte order: "a-b" < "a.b" < "a_b".
        assert_eq!(
            container_labels(&l, &[], &LabelPolicy::All, &[]),
            pairs(&[("container_label_a_b", "dash")])
        );
        assert_eq!(sanitize_label_name("com.example/ü-x"), "com_example___x");
    }

    #[test]
    fn environment_only_for_the_listed_prefixes_lowercased() {
        let env: Vec<String> = [
            "PATH=/usr/bin",
            "APP_MODE=prod",
            "APP_URL=http://x/?a=b",
            "OTHER=1",
            "APPLE",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert!(container_labels(&HashMap::new(), &env, &LabelPolicy::All, &[]).is_empty());
        assert_eq!(
            container_labels(
                &HashMap::new(),
                &env,
                &LabelPolicy::Only(vec![]),
                &["APP_".into(), String::new()]
            ),
            pairs(&[
                ("container_env_app_mode", "prod"),
                ("container_env_app_url", "http://x/?a=b"),
            ])
        );
    }

    #[test]
    fn backoff_doubles_from_100ms_up_to_the_retry_interval() {
        let max = Duration::from_secs(10);
        let waits: Vec<u128> = (0..10).map(|n| backoff(n, max).as_millis()).collect();
        assert_eq!(
            waits,
            [0, 100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000]
        );
        assert_eq!(backoff(u32::MAX, max), max);
        assert_eq!(backoff(5, Duration::from_secs(1)), Duration::from_secs(1));
        // A retry interval below the first step still waits the first step.
        assert_eq!(backoff(1, Duration::ZERO), FIRST_BACKOFF);
    }

    #[test]
    fn since_is_unix_seconds_with_nanoseconds() {
        let s = since_now(Duration::from_secs(1));
        let (secs, nanos) = s.split_once('.').unwrap();
        assert_eq!(nanos.len(), 9);
        let secs: u64 = secs.parse().unwrap();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(secs <= now && now - secs <= 3, "{s} vs {now}");
    }
}
