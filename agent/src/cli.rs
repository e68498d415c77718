//! Command line: node_exporter-compatible flags plus the agent's own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};
use hostlens_collectors::container::docker::DockerConfig;
use hostlens_collectors::ebpf::EbpfConfig;
use hostlens_collectors::node::{self, NodeConfig};
use hostlens_collectors::Roots;

/// The default listen address: loopback only (secure by default); the container deployment widens it to the
/// stack's private network.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9110";

#[derive(Debug, Parser)]
#[command(
    name = "agent",
    version,
    about = "hostlens agent: node_exporter's node_*, cAdvisor's container_* and ebpf_exporter's \
             ebpf_exporter_* metrics on one endpoint.",
    after_help = "Every node collector has --collector.<name> and --no-collector.<name>; \
                  see `agent --list-collectors`."
)]
pub struct Cli {
    /// Address to listen on for HTTP (`/metrics`, `/healthz`, `/`).
    #[arg(long = "web.listen-address", default_value = DEFAULT_LISTEN)]
    pub listen: String,
    /// Path under which to expose metrics.
    #[arg(long = "web.telemetry-path", default_value = "/metrics")]
    pub telemetry_path: String,
    /// Collect once, print the scrape to stdout and exit (non-zero if a collector failed hard).
    #[arg(long)]
    pub once: bool,
    /// Ask the agent listening on --web.listen-address for /healthz and exit 0 if it is healthy (the
    /// container image's healthcheck: it has no shell or wget).
    #[arg(long = "health-check")]
    pub health_check: bool,
    /// List the collectors, whether each is enabled, and exit.
    #[arg(long = "list-collectors")]
    pub list_collectors: bool,
    /// procfs mountpoint.
    #[arg(long = "path.procfs", default_value = "/proc")]
    pub procfs: PathBuf,
    /// sysfs mountpoint.
    #[arg(long = "path.sysfs", default_value = "/sys")]
    pub sysfs: PathBuf,
    /// rootfs mountpoint (the host's `/` when the agent runs in a container, e.g. `/host`).
    #[arg(long = "path.rootfs", default_value = "/")]
    pub rootfs: PathBuf,
    /// udev data path (default: <path.rootfs>/run/udev/data).
    #[arg(long = "path.udev.data")]
    pub udev_data: Option<PathBuf>,
    /// Read network statistics from /proc/<PID>/net instead of /proc/net: with the host's PID namespace,
    /// `1` gives the host's interfaces to an agent in a container without host networking.
    #[arg(long = "path.netns-pid")]
    pub netns_pid: Option<u32>,
    /// Disable every collector that is on by default; enable them one by one with --collector.<name>.
    #[arg(long = "collector.disable-defaults")]
    pub disable_defaults: bool,
    /// Longest time one collector may take in a scrape before it is reported failed (e.g. 9s, 500ms).
    #[arg(long = "collector.timeout", default_value = "9s", value_parser = parse_duration)]
    pub collector_timeout: Duration,
    /// The node collectors' flags, each declared next to its collector.
    #[command(flatten)]
    pub node: NodeConfig,
    /// Enable the ebpf family (ebpf_exporter's syscalls, biolatency, llcstat): on by default, off with
    /// --collector.disable-defaults unless given.
    #[arg(long = "collector.ebpf", overrides_with = "no_ebpf")]
    pub ebpf: bool,
    /// Disable the ebpf family (nothing is loaded into the kernel).
    #[arg(long = "no-collector.ebpf", overrides_with = "ebpf")]
    pub no_ebpf: bool,
    /// Do not load the syscalls eBPF program (it hooks every syscall of the host).
    #[arg(long = "no-collector.ebpf.syscalls")]
    pub no_ebpf_syscalls: bool,
    /// Do not load the biolatency eBPF program.
    #[arg(long = "no-collector.ebpf.biolatency")]
    pub no_ebpf_biolatency: bool,
    /// Do not load the llcstat eBPF program.
    #[arg(long = "no-collector.ebpf.llcstat")]
    pub no_ebpf_llcstat: bool,
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
    /// With --once: how long the eBPF programs count between attaching and the scrape.
    #[arg(long = "ebpf.once-window", default_value = "1s", value_parser = parse_duration)]
    pub ebpf_once_window: Duration,
    /// Log level: error, warn, info, debug.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: tracing::Level,
}

/// The parsed command line: the static flags and the enabled collectors.
pub struct Options {
    pub cli: Cli,
    pub listen: SocketAddr,
    pub enabled: Vec<&'static str>,
}

pub use hostlens_collectors::node::parse_duration;

fn command() -> clap::Command {
    let mut cmd = Cli::command();
    for (name, default, _) in node::COLLECTORS {
        let on = format!("collector.{name}");
        let off = format!("no-collector.{name}");
        cmd = cmd
            .arg(
                Arg::new(on.clone())
                    .long(on.clone())
                    .action(ArgAction::SetTrue)
                    .overrides_with(off.clone())
                    .hide(true)
                    .help(format!(
                        "Enable the {name} collector (default: {}).",
                        if *default { "enabled" } else { "disabled" }
                    )),
            )
            .arg(
                Arg::new(off.clone())
                    .long(off.clone())
                    .action(ArgAction::SetTrue)
                    .overrides_with(on)
                    .hide(true),
            );
    }
    cmd
}

fn enabled_collectors(m: &ArgMatches, disable_defaults: bool) -> Vec<&'static str> {
    node::COLLECTORS
        .iter()
        .filter(|(name, default, _)| {
            if m.get_flag(&format!("no-collector.{name}")) {
                false
            } else if m.get_flag(&format!("collector.{name}")) {
                true
            } else {
                *default && !disable_defaults
            }
        })
        .map(|(name, _, _)| *name)
        .collect()
}

/// Parse `args` (including the program name).
pub fn parse<I, T>(args: I) -> Result<Options>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let matches = command()
        .try_get_matches_from(args)
        .unwrap_or_else(|e| e.exit());
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let enabled = enabled_collectors(&matches, cli.disable_defaults);
    let listen: SocketAddr = cli.listen.parse().with_context(|| {
        format!(
            "--web.listen-address {:?} is not an IP:port address (e.g. {DEFAULT_LISTEN} or 0.0.0.0:9110)",
            cli.listen
        )
    })?;
    if !cli.telemetry_path.starts_with('/') || cli.telemetry_path == "/" {
        bail!(
            "--web.telemetry-path {:?} must start with / and not be / itself",
            cli.telemetry_path
        );
    }
    Ok(Options {
        cli,
        listen,
        enabled,
    })
}

impl Options {
    /// Whether the ebpf family runs: `--collector.ebpf` / `--no-collector.ebpf` (the last wins), else on
    /// unless `--collector.disable-defaults`.
    pub fn ebpf_enabled(&self) -> bool {
        self.family_enabled(self.cli.ebpf, self.cli.no_ebpf)
    }

    /// A family's `--collector.<family>` / `--no-collector.<family>` pair (the last given wins, as clap's
    /// `overrides_with` leaves only it set); neither given: on unless `--collector.disable-defaults`.
    fn family_enabled(&self, on: bool, off: bool) -> bool {
        !off && (on || !self.cli.disable_defaults)
    }

    /// Whether the container family runs (same rules as the ebpf family).
    pub fn container_enabled(&self) -> bool {
        self.family_enabled(self.cli.container, self.cli.no_container)
    }

    /// Where the cgroup hierarchy is mounted.
    pub fn cgroup_root(&self) -> PathBuf {
        self.cli
            .cgroupfs
            .clone()
            .unwrap_or_else(|| self.cli.sysfs.join("fs/cgroup"))
    }

    /// The Docker side's configuration.
    pub fn docker_config(&self) -> DockerConfig {
        let from_env = std::env::var("DOCKER_HOST")
            .ok()
            .filter(|h| h.starts_with("unix://"));
        let mut cfg = DockerConfig::default();
        if let Some(h) = self.cli.docker_host.clone().or(from_env) {
            cfg.host = h;
        }
        cfg.retry = self.cli.docker_retry;
        cfg.label_allowlist = self
            .cli
            .container_labels
            .iter()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        cfg
    }

    /// The ebpf family's configuration.
    pub fn ebpf_config(&self, roots: std::sync::Arc<Roots>) -> EbpfConfig {
        let c = &self.cli;
        let mut cfg = EbpfConfig::new(roots);
        for (off, name) in [
            (c.no_ebpf_syscalls, "syscalls"),
            (c.no_ebpf_biolatency, "biolatency"),
            (c.no_ebpf_llcstat, "llcstat"),
        ] {
            if off {
                cfg.disabled.push(name.to_string());
            }
        }
        cfg
    }

    /// The node collectors' configuration from the flags (node_exporter's defaults where a flag is unset).
    pub fn node_config(&self) -> NodeConfig {
        let c = &self.cli;
        let mut roots = Roots::new(&c.procfs, &c.sysfs, &c.rootfs, c.netns_pid);
        if let Some(u) = &c.udev_data {
            roots.udev_data = u.clone();
        }
        NodeConfig {
            roots: std::sync::Arc::new(roots),
            ..c.node.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5h").is_err());
    }

    #[test]
    fn collector_toggles() {
        let o = parse(["agent", "--no-collector.loadavg"]).unwrap();
        assert!(!o.enabled.contains(&"loadavg"));
        let o = parse([
            "agent",
            "--collector.disable-defaults",
            "--collector.loadavg",
        ])
        .unwrap();
        assert_eq!(o.enabled, vec!["loadavg"]);
        let o = parse(["agent", "--collector.disable-defaults"]).unwrap();
        assert!(o.enabled.is_empty());
        // The last of a pair wins, as with node_exporter's kingpin flags.
        let o = parse(["agent", "--no-collector.loadavg", "--collector.loadavg"]).unwrap();
        assert!(o.enabled.contains(&"loadavg"));
    }

    #[test]
    fn ebpf_toggles() {
        assert!(parse(["agent"]).unwrap().ebpf_enabled());
        assert!(!parse(["agent", "--no-collector.ebpf"])
            .unwrap()
            .ebpf_enabled());
        assert!(!parse(["agent", "--collector.disable-defaults"])
            .unwrap()
            .ebpf_enabled());
        assert!(
            parse(["agent", "--collector.disable-defaults", "--collector.ebpf"])
                .unwrap()
                .ebpf_enabled()
        );
        assert!(parse(["agent", "--no-collector.ebpf", "--collector.ebpf"])
            .unwrap()
            .ebpf_enabled());
        let o = parse(["agent", "--no-collector.ebpf.llcstat"]).unwrap();
        let cfg = o.ebpf_config(std::sync::Arc::new(Roots::default()));
        assert_eq!(cfg.disabled, vec!["llcstat".to_string()]);
    }

    #[test]
    fn container_flags() {
        let o = parse(["agent"]).unwrap();
        assert!(o.container_enabled());
        assert_eq!(o.cgroup_root(), PathBuf::from("/sys/fs/cgroup"));
        assert!(o.docker_config().label_allowlist.is_empty());
        let o = parse([
            "agent",
            "--path.sysfs=/host/sys",
            "--container.labels=com.docker.compose.service, team",
            "--container.docker-host=unix:///run/user/1000/docker.sock",
        ])
        .unwrap();
        assert_eq!(o.cgroup_root(), PathBuf::from("/host/sys/fs/cgroup"));
        let d = o.docker_config();
        assert_eq!(d.label_allowlist, ["com.docker.compose.service", "team"]);
        assert_eq!(d.host, "unix:///run/user/1000/docker.sock");
        assert!(!parse(["agent", "--no-collector.container"])
            .unwrap()
            .container_enabled());
        assert!(!parse(["agent", "--collector.disable-defaults"])
            .unwrap()
            .container_enabled());
    }

    #[test]
    fn rejects_bad_listen_address() {
        assert!(parse(["agent", "--web.listen-address", "localhost"]).is_err());
    }
}
