//! Command line: node_exporter-compatible flags plus the agent's own.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use clap::{Arg, ArgAction, ArgMatches, CommandFactory, FromArgMatches, Parser};
#[cfg(feature = "container")]
use hostlens_collectors::container::ContainerArgs;
pub use hostlens_collectors::flags::parse_duration;
use hostlens_collectors::node::{self, NodeConfig};
use hostlens_collectors::Roots;

/// The default listen address: loopback only (secure by default); the container deployment widens it to the
/// stack's private network.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9110";

#[derive(Debug, Parser)]
#[command(
    name = "hostlens-agent",
    version,
    about = "hostlens agent: node_exporter's node_*, cAdvisor's container_* and ebpf_exporter's \
             ebpf_exporter_* metrics on one endpoint.",
    after_help = "Every node collector has --collector.<name> and --no-collector.<name>; \
                  see `hostlens-agent --list-collectors`."
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
    /// Log level: error, warn, info, debug.
    #[arg(long = "log.level", default_value = "info")]
    pub log_level: tracing::Level,
    /// The container family's flags (`collectors/src/container/args.rs`).
    #[cfg(feature = "container")]
    #[command(flatten)]
    pub container: ContainerArgs,
    /// The ebpf family's flags (`agent-bpf/src/args.rs`, one `--no-collector.ebpf.<name>` per program).
    #[cfg(feature = "ebpf")]
    #[command(flatten)]
    pub ebpf: hostlens_bpf::EbpfArgs,
}

/// The families a build can lack (cargo features), and the flags that belong to each.
const OPTIONAL_FAMILIES: &[OptionalFamily] = &[
    OptionalFamily {
        feature: "ebpf",
        built: cfg!(feature = "ebpf"),
        switch: "collector.ebpf",
        flags: &["--ebpf."],
        needs: " (needs clang and libbpf-dev to build)",
    },
    OptionalFamily {
        feature: "container",
        built: cfg!(feature = "container"),
        switch: "collector.container",
        flags: &["--container.", "--path.cgroupfs"],
        needs: "",
    },
];

/// A family behind a cargo feature.
struct OptionalFamily {
    feature: &'static str,
    built: bool,
    /// `collector.<family>`: `--collector.<family>`, `--no-collector.<family>`, `--no-collector.<family>.*`.
    switch: &'static str,
    /// Prefixes of the family's other flags.
    flags: &'static [&'static str],
    needs: &'static str,
}

/// The families this build lacks, for `--list-collectors`.
pub fn absent_families() -> impl Iterator<Item = &'static str> {
    OPTIONAL_FAMILIES
        .iter()
        .filter(|f| !f.built)
        .map(|f| f.feature)
}

/// A build without a family: asking for it (`--collector.ebpf`, `--ebpf.once-window`, …) is an error that
/// names the feature; switching it off (`--no-collector.ebpf`, `--no-collector.ebpf.syscalls`) asks for what
/// already holds and is dropped, so one command line serves both builds.
fn strip_absent_families(args: Vec<std::ffi::OsString>) -> Result<Vec<std::ffi::OsString>> {
    let mut out = Vec::with_capacity(args.len());
    let mut rest = false;
    for (i, a) in args.into_iter().enumerate() {
        let Some(s) = a.to_str().filter(|_| i > 0 && !rest) else {
            out.push(a);
            continue;
        };
        if s == "--" {
            rest = true;
            out.push(a);
            continue;
        }
        let flag = s.split('=').next().unwrap_or(s);
        let mut drop = false;
        for f in OPTIONAL_FAMILIES.iter().filter(|f| !f.built) {
            let off = format!("--no-{}", f.switch);
            if flag == off || flag.starts_with(&format!("{off}.")) {
                drop = true;
            } else if flag == format!("--{}", f.switch)
                || f.flags.iter().any(|p| flag.starts_with(p))
            {
                bail!(
                    "{flag}: this hostlens-agent was built without the {0} family (cargo feature `{0}`); \
                     build it with `cargo build -p hostlens-agent --features {0}`{1}, or drop the flag",
                    f.feature,
                    f.needs
                );
            }
        }
        if !drop {
            out.push(a);
        }
    }
    Ok(out)
}

/// The parsed command line: the static flags and the enabled collectors.
pub struct Options {
    pub cli: Cli,
    pub listen: SocketAddr,
    pub enabled: Vec<&'static str>,
}

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
    let args = strip_absent_families(args.into_iter().map(Into::into).collect())?;
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
    /// A family's `--collector.<family>` / `--no-collector.<family>` pair (the last given wins, as clap's
    /// `overrides_with` leaves only it set); neither given: on unless `--collector.disable-defaults`.
    #[cfg(any(feature = "ebpf", feature = "container"))]
    fn family_enabled(&self, on: bool, off: bool) -> bool {
        !off && (on || !self.cli.disable_defaults)
    }

    /// Whether the ebpf family runs: `--collector.ebpf` / `--no-collector.ebpf` (the last wins), else on
    /// unless `--collector.disable-defaults`.
    #[cfg(feature = "ebpf")]
    pub fn ebpf_enabled(&self) -> bool {
        self.family_enabled(self.cli.ebpf.ebpf, self.cli.ebpf.no_ebpf)
    }

    /// Whether the container family runs (same rules as the ebpf family).
    #[cfg(feature = "container")]
    pub fn container_enabled(&self) -> bool {
        self.family_enabled(
            self.cli.container.container,
            self.cli.container.no_container,
        )
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
            enabled: self.enabled.clone(),
            ..c.node.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[cfg(feature = "ebpf")]
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
        let cfg = o.cli.ebpf.config(std::sync::Arc::new(Roots::default()));
        assert_eq!(cfg.disabled, vec!["llcstat".to_string()]);
        // One flag per row of the family's table, nothing hand-written here.
        let help = command().render_long_help().to_string();
        for p in hostlens_bpf::PROGRAMS {
            assert!(
                help.contains(&format!("--no-collector.ebpf.{}", p.name)),
                "{help}"
            );
        }
    }

    #[cfg(feature = "container")]
    #[test]
    fn container_flags() {
        let o = parse(["agent"]).unwrap();
        assert!(o.container_enabled());
        let o = parse(["agent", "--path.sysfs=/host/sys"]).unwrap();
        assert_eq!(
            o.cli.container.cgroup_root(&o.cli.sysfs),
            PathBuf::from("/host/sys/fs/cgroup")
        );
        assert!(!parse(["agent", "--no-collector.container"])
            .unwrap()
            .container_enabled());
        assert!(!parse(["agent", "--collector.disable-defaults"])
            .unwrap()
            .container_enabled());
        assert!(parse([
            "agent",
            "--collector.disable-defaults",
            "--collector.container"
        ])
        .unwrap()
        .container_enabled());
    }

    /// A build without a family names the feature when asked for it and ignores switching it off.
    #[test]
    fn absent_families_name_their_feature() {
        let os = |v: &[&str]| v.iter().map(std::ffi::OsString::from).collect::<Vec<_>>();
        for f in OPTIONAL_FAMILIES.iter().filter(|f| !f.built) {
            let on = format!("--{}", f.switch);
            let e = strip_absent_families(os(&["agent", &on]))
                .unwrap_err()
                .to_string();
            assert!(e.contains(&format!("cargo feature `{}`", f.feature)), "{e}");
            let off = format!("--no-{}", f.switch);
            let kept = strip_absent_families(os(&["agent", &off, "--once"])).unwrap();
            assert_eq!(kept, os(&["agent", "--once"]));
            for p in f.flags {
                let e = strip_absent_families(os(&["agent", &format!("{p}x=1")]));
                assert!(e.is_err(), "{p}");
            }
        }
        // Everything else passes untouched, including after `--`.
        let all = os(&["agent", "--once", "--", "--collector.ebpf"]);
        assert_eq!(strip_absent_families(all.clone()).unwrap(), all);
        assert_eq!(
            absent_families().count(),
            OPTIONAL_FAMILIES.iter().filter(|f| !f.built).count()
        );
    }

    #[test]
    fn rejects_bad_listen_address() {
        assert!(parse(["agent", "--web.listen-address", "localhost"]).is_err());
    }
}
