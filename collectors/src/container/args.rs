//! The container family's flags, flattened into the agent's CLI (`agent/src/cli.rs`): a flag of the
//! family is one edit here.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::flags::parse_duration;

use super::docker::DockerConfig;

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
    /// Docker labels to export as container_label_<name> on every container series (comma-separated; none by
    /// default: per-container labels multiply series).
    #[arg(long = "container.labels", value_delimiter = ',')]
    pub container_labels: Vec<String>,
    /// How long to wait between attempts to reach Docker while it is unreachable.
    #[arg(long = "container.docker-retry", default_value = "10s", value_parser = parse_duration)]
    pub docker_retry: Duration,
    /// Where the host's cgroup hierarchy is mounted (default: <path.sysfs>/fs/cgroup).
    #[arg(long = "path.cgroupfs")]
    pub cgroupfs: Option<PathBuf>,
    /// With --once: how long to wait for Docker's container list before the scrape.
    #[arg(long = "container.once-wait", default_value = "5s", value_parser = parse_duration)]
    pub container_once_wait: Duration,
    /// Serve cAdvisor's process group (container_processes, _file_descriptors, _sockets, _threads,
    /// _threads_max): off by default as in cAdvisor (its `process` metrics), since it lists every process's
    /// open descriptors on each scrape.
    #[arg(long = "container.process-metrics")]
    pub process_metrics: bool,
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
        cfg.label_allowlist = self
            .container_labels
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        cfg
    }
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
        assert!(d.label_allowlist.is_empty());
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
        assert_eq!(d.label_allowlist, ["com.docker.compose.service", "team"]);
        assert_eq!(d.host, "unix:///run/user/1000/docker.sock");
        let a = parse(&["--no-collector.container", "--collector.container"]);
        assert!(a.container && !a.no_container);
    }
}
