//! The container family's flags, flattened into the agent's CLI (`agent/src/cli.rs`): a flag of the
//! family is one edit here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::flags::parse_duration;

use super::docker::{DockerConfig, LabelPolicy};

#[derive(Debug, Clone, clap::Args)]
pub struct ContainerArgs {
    /// Enable the container family (cAdvisor's container_* for Docker containers): on by default, off with
    /// --collector.disable-defaults unless given.
    #[arg(long = "collector.container", overrides_with = "no_container")]
    pub container: bool,
    /// Disable the container family (the Docker socket is not opened).
    #[arg(long = "no-collector.container", overrides_with = "container")]
    pub no_container: bool,
    /// The Docker Engine API socket (default: $DOCKER_HOST when it is a unix:// address, else
    /// unix:///var/run/docker.sock).
    #[arg(long = "container.docker-host")]
    pub docker_host: Option<String>,
    /// Export every Docker label of a container as container_label_<sanitized name> (cAdvisor's default;
    /// alias --store_container_labels). =false: none, unless listed with --container.labels.
    #[arg(
        long = "container.store-labels",
        alias = "store_container_labels",
        action = clap::ArgAction::Set,
        default_value_t = true,
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true",
        value_parser = clap::builder::BoolishValueParser::new()
    )]
    pub store_labels: bool,
    /// Only these Docker labels (comma-separated) as container_label_<name> (alias
    /// --whitelisted_container_labels). Narrows the default of all labels; given empty: none.
    #[arg(
        long = "container.labels",
        alias = "whitelisted_container_labels",
        value_delimiter = ','
    )]
    pub container_labels: Option<Vec<String>>,
    /// Environment variables whose names start with one of these prefixes (comma-separated) as
    /// container_env_<lowercased name> (alias --env_metadata_whitelist); none by default.
    #[arg(
        long = "container.env-metadata-allowlist",
        aliases = ["env_metadata_whitelist", "docker_env_metadata_whitelist"],
        value_delimiter = ','
    )]
    pub env_metadata: Vec<String>,
    /// The longest wait between attempts to reach Docker while it is unreachable (the first retry after the
    /// event stream ends is at once, then 100 ms, doubling up to this).
    #[arg(long = "container.docker-retry", default_value = "10s", value_parser = parse_duration)]
    pub docker_retry: Duration,
    /// Where the host's cgroup hierarchy is mounted (default: <path.sysfs>/fs/cgroup).
    #[arg(long = "path.cgroupfs")]
    pub cgroupfs: Option<PathBuf>,
    /// How often each container's writable layer (and log directory) is walked in the background for
    /// container_fs_usage_bytes (cAdvisor's fixed 1m); 0s: never (no container_fs_usage/limit/inodes series).
    #[arg(long = "container.fs-refresh", default_value = "1m", value_parser = parse_refresh)]
    pub fs_refresh: Duration,
    /// With --once: how long to wait for Docker's container list before the scrape.
    #[arg(long = "container.once-wait", default_value = "5s", value_parser = parse_duration)]
    pub container_once_wait: Duration,
    /// Serve cAdvisor's process group (container_processes, _file_descriptors, _sockets, _threads,
    /// _threads_max): off by default as in cAdvisor (its `process` metrics), since it lists every process's
    /// open descriptors on each scrape.
    #[arg(long = "container.process-metrics")]
    pub process_metrics: bool,
}

/// A duration, `0s` allowed (off).
fn parse_refresh(s: &str) -> Result<Duration, String> {
    match s.trim() {
        "0" | "0s" => Ok(Duration::ZERO),
        other => parse_duration(other),
    }
}

impl ContainerArgs {
    /// Where the cgroup hierarchy is mounted: `--path.cgroupfs`, else `<sysfs>/fs/cgroup`.
    pub fn cgroup_root(&self, sysfs: &Path) -> PathBuf {
        self.cgroupfs
            .clone()
            .unwrap_or_else(|| sysfs.join("fs/cgroup"))
    }

    /// The Docker side's configuration; `docker_host_env` is `$DOCKER_HOST` (used when it is `unix://…`
    /// and --container.docker-host is not given).
    pub fn docker_config(&self, docker_host_env: Option<String>) -> DockerConfig {
        let from_env = docker_host_env.filter(|h| h.starts_with("unix://"));
        let mut cfg = DockerConfig::default();
        if let Some(h) = self.docker_host.clone().or(from_env) {
            cfg.host = h;
        }
        cfg.retry = self.docker_retry;
        cfg.labels = self.label_policy();
        cfg.env_prefixes = trimmed(&self.env_metadata);
        cfg
    }

    /// Which Docker labels become series labels. As cAdvisor 0.60 by default (all) and with
    /// `--store_container_labels=false --whitelisted_container_labels=a,b` (only a and b); unlike cAdvisor,
    /// whose allowlist is ignored unless `--store_container_labels=false`, a given allowlist always narrows
    /// (what `--container.labels` always meant here).
    pub fn label_policy(&self) -> LabelPolicy {
        match &self.container_labels {
            Some(list) => LabelPolicy::Only(trimmed(list)),
            None if self.store_labels => LabelPolicy::All,
            None => LabelPolicy::Only(Vec::new()),
        }
    }
}

/// The non-empty, trimmed items of a comma-separated flag.
fn trimmed(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|l| l.trim().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        container: ContainerArgs,
    }

    fn parse(args: &[&str]) -> ContainerArgs {
        Cli::try_parse_from(std::iter::once("t").chain(args.iter().copied()))
            .unwrap_or_else(|e| panic!("{e}"))
            .container
    }

    #[test]
    fn defaults_and_overrides() {
        let a = parse(&[]);
        assert_eq!(
            a.cgroup_root(Path::new("/sys")),
            PathBuf::from("/sys/fs/cgroup")
        );
        let d = a.docker_config(None);
        assert_eq!(d.labels, LabelPolicy::All);
        assert!(d.env_prefixes.is_empty());
        assert_eq!(d.host, "unix:///var/run/docker.sock");
        assert_eq!(d.retry, Duration::from_secs(10));
        assert_eq!(
            a.docker_config(Some("unix:///run/d.sock".into())).host,
            "unix:///run/d.sock"
        );
        assert_eq!(
            a.docker_config(Some("tcp://h:2375".into())).host,
            "unix:///var/run/docker.sock"
        );
        let a = parse(&[
            "--container.labels=com.docker.compose.service, team",
            "--container.docker-host=unix:///run/user/1000/docker.sock",
            "--path.cgroupfs=/host/cgroup",
        ]);
        assert_eq!(
            a.cgroup_root(Path::new("/sys")),
            PathBuf::from("/host/cgroup")
        );
        let d = a.docker_config(Some("unix:///ignored".into()));
        assert_eq!(
            d.labels,
            LabelPolicy::Only(vec!["com.docker.compose.service".into(), "team".into()])
        );
        assert_eq!(d.host, "unix:///run/user/1000/docker.sock");
        assert_eq!(a.fs_refresh, Duration::from_secs(60));
        assert_eq!(
            parse(&["--container.fs-refresh=0s"]).fs_refresh,
            Duration::ZERO
        );
        assert_eq!(
            parse(&["--container.fs-refresh=2s"]).fs_refresh,
            Duration::from_secs(2)
        );
        let a = parse(&["--no-collector.container", "--collector.container"]);
        assert!(a.container && !a.no_container);
    }

    #[test]
    fn label_flags_as_cadvisor_spells_them() {
        let policy = |args: &[&str]| parse(args).label_policy();
        assert_eq!(policy(&["--store_container_labels"]), LabelPolicy::All);
        assert_eq!(policy(&["--store_container_labels=true"]), LabelPolicy::All);
        assert_eq!(
            policy(&["--store_container_labels=false"]),
            LabelPolicy::Only(vec![])
        );
        assert_eq!(
            policy(&["--container.store-labels=false"]),
            LabelPolicy::Only(vec![])
        );
        assert_eq!(
            policy(&[
                "--store_container_labels=false",
                "--whitelisted_container_labels=com.docker.compose.project, com.docker.compose.service"
            ]),
            LabelPolicy::Only(vec![
                "com.docker.compose.project".into(),
                "com.docker.compose.service".into()
            ])
        );
        // An allowlist narrows even with the default --store_container_labels=true.
        assert_eq!(
            policy(&["--whitelisted_container_labels=team"]),
            LabelPolicy::Only(vec!["team".into()])
        );
        // Given empty: none.
        assert_eq!(policy(&["--container.labels="]), LabelPolicy::Only(vec![]));
        let d = parse(&["--env_metadata_whitelist=APP_,VERSION"]).docker_config(None);
        assert_eq!(d.env_prefixes, ["APP_", "VERSION"]);
        let d = parse(&["--container.env-metadata-allowlist=X"]).docker_config(None);
        assert_eq!(d.env_prefixes, ["X"]);
        assert!(
            Cli::try_parse_from(["t", "--store_container_labels=maybe"]).is_err(),
            "a value that is not a boolean is refused"
        );
    }
}
