//! hostlens agent: one binary serving node_exporter's `node_*`, cAdvisor's `container_*` and ebpf_exporter's
//! `ebpf_exporter_*` metrics on one endpoint, collected at scrape time.

mod cli;
mod healthcheck;
mod scrape;
mod server;

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
#[cfg(feature = "container")]
use hostlens_collectors::container::{
    cgroup::CgroupFs, collector::ContainerCollector, docker::DockerSource,
};
use hostlens_collectors::node;

use crate::scrape::Scraper;

/// Refuse roots that are not what the flags say, instead of reporting every collector as "no data".
fn check_roots(cfg: &node::NodeConfig) -> Result<()> {
    let r = &cfg.roots;
    if !r.proc("stat").is_file() {
        anyhow::bail!(
            "--path.procfs {}: no {} here; point it at the host's procfs (e.g. /host/proc in a container)",
            r.procfs.display(),
            r.proc("stat").display()
        );
    }
    if !r.sys("class").is_dir() {
        anyhow::bail!(
            "--path.sysfs {}: no class/ directory here; point it at the host's sysfs (e.g. /host/sys)",
            r.sysfs.display()
        );
    }
    if !r.rootfs.is_dir() {
        anyhow::bail!("--path.rootfs {}: not a directory", r.rootfs.display());
    }
    Ok(())
}

/// Set up the container family: the cgroup layout now, Docker in the background. Neither a missing cgroup
/// mount nor a missing Docker stops the agent: the first turns the family off (logged), the second is reported
/// by `hostlens_container_runtime_up 0` while the source keeps retrying.
#[cfg(feature = "container")]
fn add_containers(
    scraper: &mut Scraper,
    opts: &cli::Options,
    roots: Arc<hostlens_collectors::Roots>,
) -> Option<Arc<DockerSource>> {
    let root = opts.cli.container.cgroup_root(&opts.cli.sysfs);
    let cgroups = match CgroupFs::detect(&root) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(
                "container family off: {e} (point --path.cgroupfs at the host's cgroup mount, or \
                 --no-collector.container)"
            );
            return None;
        }
    };
    tracing::info!("container family: {}", cgroups.describe());
    let docker = DockerSource::spawn(
        opts.cli
            .container
            .docker_config(std::env::var("DOCKER_HOST").ok()),
    );
    scraper.add(
        "container",
        Box::new(
            ContainerCollector::new(roots, cgroups, docker.clone())
                .with_fs_refresh(opts.cli.container.fs_refresh)
                .with_revision(env!("HOSTLENS_REVISION"))
                .with_process_metrics(opts.cli.container.process_metrics),
        ),
    );
    Some(docker)
}

/// What `--once` waits for before its one scrape.
#[derive(Default)]
struct Warmup {
    #[cfg(feature = "container")]
    docker: Option<Arc<DockerSource>>,
    #[cfg(feature = "ebpf")]
    ebpf_window: Option<std::time::Duration>,
}

impl Warmup {
    /// Docker's first container list, and a window for the eBPF programs to count something.
    async fn wait(&self, _opts: &cli::Options) {
        #[cfg(feature = "container")]
        if let Some(d) = &self.docker {
            d.wait_ready(_opts.cli.container.container_once_wait).await;
        }
        #[cfg(feature = "ebpf")]
        if let Some(w) = self.ebpf_window {
            tokio::time::sleep(w).await;
        }
    }
}

fn build_scraper(opts: &cli::Options) -> Result<(Scraper, Warmup)> {
    let cfg = opts.node_config();
    check_roots(&cfg)?;
    let mut scraper = Scraper::new(opts.cli.collector_timeout);
    scraper.set_known(node::names());
    for name in &opts.enabled {
        let collector = node::build(name, &cfg)
            .with_context(|| format!("no collector named {name}"))?
            .with_context(|| {
                format!("setting up the {name} collector (check its --collector.{name}.* flags)")
            })?;
        scraper.add("node", collector);
    }
    #[allow(unused_mut)]
    let mut warmup = Warmup::default();
    #[cfg(feature = "container")]
    if opts.container_enabled() {
        warmup.docker = add_containers(&mut scraper, opts, cfg.roots.clone());
    }
    #[cfg(feature = "ebpf")]
    if opts.ebpf_enabled() {
        add_ebpf(&mut scraper, opts, cfg.roots.clone());
        warmup.ebpf_window = Some(opts.cli.ebpf.once_window);
    }
    Ok((scraper, warmup))
}

/// Set up the ebpf family and add its collectors. What cannot run on this host (no BTF, missing
/// capabilities, no hardware counters) is logged once here and reported by `hostlens_ebpf_program_attached`;
/// it is a degradation, never a reason to stop serving the other families.
#[cfg(feature = "ebpf")]
fn add_ebpf(scraper: &mut Scraper, opts: &cli::Options, roots: Arc<hostlens_collectors::Roots>) {
    let family = hostlens_bpf::setup(&opts.cli.ebpf.config(roots));
    if let Some(reason) = &family.family_off {
        tracing::warn!("ebpf family off: {reason}");
    } else {
        for s in &family.status {
            if s.attached {
                tracing::info!(program = s.program, "eBPF program attached");
            } else {
                tracing::warn!(
                    program = s.program,
                    reason = %s.reason,
                    "eBPF program not attached: {}",
                    s.detail
                );
            }
        }
    }
    for c in family.collectors {
        scraper.add("ebpf", c);
    }
}

async fn run(opts: cli::Options) -> Result<ExitCode> {
    if opts.cli.health_check {
        let addr = healthcheck::target(opts.listen);
        return match healthcheck::check(addr, std::time::Duration::from_secs(3)) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) => {
                eprintln!("hostlens-agent: unhealthy: {e:#}");
                Ok(ExitCode::FAILURE)
            }
        };
    }
    if opts.cli.list_collectors {
        use std::fmt::Write as _;
        let mut list = String::new();
        for (name, default, _) in node::COLLECTORS {
            let on = opts.enabled.contains(name);
            let _ = writeln!(
                list,
                "{name:<20} node  {}{}",
                if on { "enabled" } else { "disabled" },
                if *default { "" } else { " (off by default)" }
            );
        }
        #[cfg(feature = "container")]
        let _ = writeln!(
            list,
            "{:<20} container {}",
            "container",
            if opts.container_enabled() {
                "enabled"
            } else {
                "disabled"
            }
        );
        #[cfg(feature = "ebpf")]
        for p in hostlens_bpf::PROGRAMS {
            let off = !opts.ebpf_enabled() || opts.cli.ebpf.program_disabled(p.name);
            let _ = writeln!(
                list,
                "{:<20} ebpf  {}",
                p.name,
                if off { "disabled" } else { "enabled" }
            );
        }
        for f in cli::absent_families() {
            let _ = writeln!(list, "{f:<20} {f}  not in this build (cargo feature `{f}`)");
        }
        // `--list-collectors | head` closes the pipe early: that is not an error (println! would panic).
        match std::io::stdout().lock().write_all(list.as_bytes()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(e).context("writing the collector list to stdout")
            }
            _ => {}
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (scraper, warmup) = build_scraper(&opts)?;
    if opts.cli.once {
        warmup.wait(&opts).await;
        let scrape = scraper.scrape().await;
        let mut stdout = std::io::stdout().lock();
        stdout
            .write_all(scrape.text.as_bytes())
            .context("writing the scrape to stdout")?;
        stdout.flush().context("writing the scrape to stdout")?;
        let mut hard = 0;
        for o in &scrape.outcomes {
            if let Err(e) = &o.result {
                if o.no_data {
                    eprintln!(
                        "hostlens-agent: collector {}: no data on this host ({e})",
                        o.name
                    );
                } else {
                    eprintln!("hostlens-agent: collector {} FAILED: {e}", o.name);
                    hard += 1;
                }
            }
        }
        if hard > 0 {
            eprintln!(
                "hostlens-agent: {hard} collector(s) failed; the output above lacks their metrics"
            );
            return Ok(ExitCode::FAILURE);
        }
        return Ok(ExitCode::SUCCESS);
    }
    server::serve(
        opts.listen,
        opts.cli.telemetry_path.clone(),
        Arc::new(scraper),
    )
    .await?;
    Ok(ExitCode::SUCCESS)
}

/// glibc gives every thread that allocates its own malloc arena; the agent's few threads need no more than
/// two, and fewer arenas keep the resident set small.
fn limit_malloc_arenas() {
    #[cfg(target_env = "gnu")]
    // SAFETY: mallopt only sets an allocator tunable; it is called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

fn main() -> ExitCode {
    let opts = match cli::parse(std::env::args_os()) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("hostlens-agent: {e:#}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_max_level(opts.cli.log_level)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    limit_malloc_arenas();
    // One thread serves HTTP; collection runs on blocking threads (one per scrape, plus one per collector
    // still hung in the kernel).
    let rt = match tokio::runtime::Builder::new_current_thread()
        .max_blocking_threads(64)
        .thread_name("agent")
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hostlens-agent: starting the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match rt.block_on(run(opts)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("hostlens-agent: {e:#}");
            ExitCode::FAILURE
        }
    }
}
