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
use hostlens_collectors::container::cgroup::CgroupFs;
use hostlens_collectors::container::collector::ContainerCollector;
use hostlens_collectors::container::docker::DockerSource;
use hostlens_collectors::{ebpf, node};

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
fn add_containers(
    scraper: &mut Scraper,
    opts: &cli::Options,
    roots: Arc<hostlens_collectors::Roots>,
) -> Option<Arc<DockerSource>> {
    let root = opts.cgroup_root();
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
    let docker = DockerSource::spawn(opts.docker_config());
    scraper.add(
        "container",
        Box::new(ContainerCollector::new(roots, cgroups, docker.clone())),
    );
    Some(docker)
}

fn build_scraper(opts: &cli::Options) -> Result<(Scraper, Option<Arc<DockerSource>>)> {
    let cfg = opts.node_config();
    check_roots(&cfg)?;
    let mut scraper = Scraper::new(opts.cli.collector_timeout);
    for name in &opts.enabled {
        let collector = node::build(name, &cfg)
            .with_context(|| format!("no collector named {name}"))?
            .with_context(|| {
                format!("setting up the {name} collector (check its --collector.{name}.* flags)")
            })?;
        scraper.add("node", collector);
    }
    let docker = if opts.container_enabled() {
        add_containers(&mut scraper, opts, cfg.roots.clone())
    } else {
        None
    };
    if opts.ebpf_enabled() {
        add_ebpf(&mut scraper, opts, cfg.roots.clone());
    }
    Ok((scraper, docker))
}

/// Set up the ebpf family and add its collectors. What cannot run on this host (no BTF, missing
/// capabilities, no hardware counters) is logged once here and reported by `hostlens_ebpf_program_attached`;
/// it is a degradation, never a reason to stop serving the other families.
fn add_ebpf(scraper: &mut Scraper, opts: &cli::Options, roots: Arc<hostlens_collectors::Roots>) {
    let family = ebpf::setup(&opts.ebpf_config(roots));
    if let Some(reason) = &family.family_off {
        tracing::warn!("ebpf family off: {reason}");
    } else {
        for s in &family.status {
            if s.attached {
                tracing::info!(program = s.program, "eBPF program attached");
            } else {
                tracing::warn!(
                    program = s.program,
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
        for (name, default, _) in node::COLLECTORS {
            let on = opts.enabled.contains(name);
            println!(
                "{name:<20} node  {}{}",
                if on { "enabled" } else { "disabled" },
                if *default { "" } else { " (off by default)" }
            );
        }
        println!(
            "{:<20} container {}",
            "container",
            if opts.container_enabled() {
                "enabled"
            } else {
                "disabled"
            }
        );
        for name in ebpf::PROGRAMS {
            let off = !opts.ebpf_enabled()
                || opts
                    .ebpf_config(Default::default())
                    .disabled
                    .iter()
                    .any(|d| d == name);
            println!(
                "{name:<20} ebpf  {}",
                if off { "disabled" } else { "enabled" }
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let (scraper, docker) = build_scraper(&opts)?;
    if opts.cli.once {
        if let Some(d) = &docker {
            d.wait_ready(opts.cli.container_once_wait).await;
        }
        if opts.ebpf_enabled() {
            // Let the programs count something before the one scrape.
            tokio::time::sleep(opts.cli.ebpf_once_window).await;
        }
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
                    eprintln!("hostlens-agent: collector {}: no data on this host ({e})", o.name);
                } else {
                    eprintln!("hostlens-agent: collector {} FAILED: {e}", o.name);
                    hard += 1;
                }
            }
        }
        if hard > 0 {
            eprintln!("hostlens-agent: {hard} collector(s) failed; the output above lacks their metrics");
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
