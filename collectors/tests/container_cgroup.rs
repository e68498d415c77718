#![cfg(feature = "container")]
//! The container collector's cgroup side on fixture trees (`tests/fixtures/cgroup/{v1,v2}`: a v1 hybrid host
//! with the cgroupfs driver like this machine, a v2 host with the systemd driver like most users' hosts),
//! their golden outputs, and the real cgroup tree of the machine running the tests.
//!
//! Run with `--nocapture` to see which layout each test ran on. Regenerate the goldens with
//! `UPDATE_GOLDEN=1 cargo test -p hostlens-collectors --test container_cgroup`.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hostlens_collectors::container::cgroup::{CgroupFs, HostMemory, Layout};
use hostlens_collectors::container::collector::ContainerCollector;
use hostlens_collectors::container::{CgroupDriver, ContainerInfo, Snapshot};
use hostlens_collectors::{Collector, MetricSet, Roots};

const ID_A: &str = "4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f4c7e0d1f";
const ID_B: &str = "b0b0cafeb0b0cafeb0b0cafeb0b0cafeb0b0cafeb0b0cafeb0b0cafeb0b0cafe";
const ID_C: &str = "deadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeefdeadbeef";
const ID_V: &str = "5e1f2a3b5e1f2a3b5e1f2a3b5e1f2a3b5e1f2a3b5e1f2a3b5e1f2a3b5e1f2a3b";
const ID_N: &str = "0a0b0c0d0a0b0c0d0a0b0c0d0a0b0c0d0a0b0c0d0a0b0c0d0a0b0c0d0a0b0c0d";
const LABEL: &str = "container_label_com_docker_compose_service";
/// The fixture cgroup files' modification time (set by the tests on their copy: git does not keep it).
const PINNED: u64 = 1_700_000_000;

fn fixture(layout: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/cgroup")
        .join(layout)
}

fn pin_mtimes(dir: &Path) {
    let t = UNIX_EPOCH + Duration::from_secs(PINNED);
    for entry in std::fs::read_dir(dir).expect("fixture dir") {
        let path = entry.expect("entry").path();
        if path.is_symlink() {
            continue;
        }
        if path.is_dir() {
            pin_mtimes(&path);
        }
        std::fs::File::open(&path)
            .and_then(|f| f.set_modified(t))
            .expect("pinning an mtime");
    }
    std::fs::File::open(dir)
        .and_then(|f| f.set_modified(t))
        .expect("pinning a directory mtime");
}

/// The fixture `layout`, copied to a temporary directory whose mtimes are pinned (the committed files are
/// never touched).
fn setup(layout: &str) -> (Arc<Roots>, CgroupFs) {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let f = copy_fixture(layout, &format!("setup{n}"));
    let roots = Arc::new(Roots::new(f.join("proc"), f.join("sys"), &f, None));
    let mount = CgroupFs::default_mount_root(&roots);
    pin_mtimes(&mount);
    let fs = CgroupFs::detect(&mount).expect("detects the fixture layout");
    println!("{layout} fixture: {}", fs.describe());
    (roots, fs)
}

fn container(id: &str, name: &str, image: &str, pid: Option<u32>) -> ContainerInfo {
    ContainerInfo {
        id: id.into(),
        name: name.into(),
        image: image.into(),
        pid,
        created: Some(1_732_496_193.704),
        started: Some(1_732_496_194.039),
        cgroup_parent: String::new(),
        shares_network: false,
        extra_labels: vec![],
        health_status: String::new(),
    }
}

fn v1_snapshot() -> Snapshot {
    let mut job = container(ID_B, "job", "alpine:3.20", Some(4343));
    job.started = None;
    job.created = Some(1_732_400_000.5);
    job.extra_labels = vec![(LABEL.into(), "job".into())];
    Snapshot {
        runtime_up: true,
        reason: None,
        driver: Some(CgroupDriver::Cgroupfs),
        containers: vec![job, container(ID_C, "gone", "busybox", Some(4444)), {
            let mut web = container(ID_A, "web", "nginx:1.27", Some(4242));
            web.health_status = "healthy".into();
            web
        }],
    }
}

fn v2_snapshot() -> Snapshot {
    Snapshot {
        runtime_up: true,
        reason: None,
        driver: Some(CgroupDriver::Systemd),
        containers: vec![{
            let mut db = container(ID_V, "db", "postgres:17", Some(5151));
            db.health_status = "unhealthy".into();
            db
        }],
    }
}

fn fixed_now() -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_750_000_000)
}

fn collect(layout: &str, snap: Snapshot) -> MetricSet {
    let (roots, fs) = setup(layout);
    let own_root = roots.root("");
    let c = ContainerCollector::new(roots, fs, Arc::new(snap))
        .with_clock(fixed_now)
        .with_own_root(own_root)
        .with_revision("fixture-rev");
    assert_eq!(c.name(), "container");
    let mut out = MetricSet::new();
    c.collect(&mut out).expect("collects");
    out
}

/// The value of `name` for the series with exactly `labels` plus any empty ones.
#[track_caller]
fn val(m: &MetricSet, name: &str, labels: &[(&str, &str)]) -> f64 {
    let fam = m.get(name).unwrap_or_else(|| panic!("no family {name}"));
    let hits: Vec<f64> = fam
        .samples
        .iter()
        .filter(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
                && s.labels
                    .iter()
                    .all(|(k, v)| v.is_empty() || labels.iter().any(|(lk, _)| lk == k))
        })
        .map(|s| match s.value {
            hostlens_collectors::Value::Scalar(x) => x,
            _ => panic!("{name}: not a scalar"),
        })
        .collect();
    assert_eq!(
        hits.len(),
        1,
        "{name}{labels:?}: {} matching series",
        hits.len()
    );
    hits[0]
}

/// `container_cpu_usage_seconds_total` of the series with `labels` (exactly, as [`val`]): the per-CPU
/// series `cpu00`, `cpu01`, … and their sum, or the one `total` series where there are no per-CPU ones.
#[track_caller]
fn cpu_usage(m: &MetricSet, labels: &[(&str, &str)]) -> (Vec<(String, f64)>, f64) {
    let fam = m
        .get("container_cpu_usage_seconds_total")
        .expect("usage family");
    let mut per_cpu = Vec::new();
    for s in &fam.samples {
        let ours = labels
            .iter()
            .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
            && s.labels
                .iter()
                .all(|(k, v)| k == "cpu" || v.is_empty() || labels.iter().any(|(lk, _)| lk == k));
        if !ours {
            continue;
        }
        let cpu = s
            .labels
            .iter()
            .find(|(k, _)| k == "cpu")
            .map(|(_, v)| v.clone())
            .expect("a cpu label");
        let hostlens_collectors::Value::Scalar(x) = s.value else {
            panic!("not a scalar")
        };
        per_cpu.push((cpu, x));
    }
    let sum = per_cpu.iter().map(|(_, v)| v).sum();
    (per_cpu, sum)
}

fn has(m: &MetricSet, name: &str, labels: &[(&str, &str)]) -> bool {
    m.get(name).is_some_and(|f| {
        f.samples.iter().any(|s| {
            labels
                .iter()
                .all(|(k, v)| s.labels.iter().any(|(sk, sv)| sk == k && sv == v))
        })
    })
}

fn assert_close(got: f64, want: f64) {
    assert!((got - want).abs() < 1e-9, "got {got}, want {want}");
}

#[test]
fn v1_hybrid_cgroupfs_fixture() {
    let (roots, fs) = setup("v1");
    assert_eq!(fs.layout(), Layout::Hybrid);
    assert!(
        fs.describe().starts_with("cgroup v1 (hybrid) at "),
        "{}",
        fs.describe()
    );
    let snap = v1_snapshot();
    let by_name = |n: &str| {
        snap.containers
            .iter()
            .find(|c| c.name == n)
            .cloned()
            .expect("listed")
    };
    // The driver's path, the /proc/<pid>/cgroup fallback (a daemon-wide --cgroup-parent), and a stopped
    // container.
    assert_eq!(
        fs.container_cgroup(&roots, &by_name("web"), snap.driver),
        Some(format!("/docker/{ID_A}"))
    );
    assert_eq!(
        fs.container_cgroup(&roots, &by_name("job"), snap.driver),
        Some(format!("/ci/{ID_B}"))
    );
    assert_eq!(
        fs.container_cgroup(&roots, &by_name("gone"), snap.driver),
        None
    );
    assert_eq!(fs.read(&format!("/docker/{ID_C}")).expect("reads"), None);

    let m = collect("v1", v1_snapshot());
    let web_id = format!("/docker/{ID_A}");
    let web = [
        ("id", web_id.as_str()),
        ("name", "web"),
        ("image", "nginx:1.27"),
    ];
    let lab = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        web.iter().copied().chain(extra.iter().copied()).collect()
    };
    // CPU: cpuacct.usage_percpu ns per CPU (cAdvisor 0.60's default `percpu`; CPU 1 is 0 and has no
    // series), summing to cpuacct.usage; cpuacct.stat ticks at USER_HZ 100, throttled_time ns.
    let (per_cpu, sum) = cpu_usage(&m, &web);
    let names: Vec<&str> = per_cpu.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(names, ["cpu00", "cpu02", "cpu03"]);
    assert_close(
        val(
            &m,
            "container_cpu_usage_seconds_total",
            &lab(&[("cpu", "cpu03")]),
        ),
        0.696665,
    );
    assert_close(sum, 36.696665);
    assert!(!has(
        &m,
        "container_cpu_usage_seconds_total",
        &lab(&[("cpu", "total")])
    ));
    // Burst (kernel ≥ 5.14 cpu.stat `nr_bursts`, `burst_time` ns), printed with a quota as the CFS series.
    assert_eq!(val(&m, "container_cpu_cfs_burst_periods_total", &web), 12.0);
    assert_close(val(&m, "container_cpu_cfs_burst_seconds_total", &web), 0.25);
    // v1 sources of the v2-era memory series: kmem usage and the total_* file LRU sizes; memory.events
    // and PSI do not exist per cgroup on v1 and print 0, as cAdvisor prints them.
    assert_eq!(val(&m, "container_memory_kernel_usage", &web), 3_145_728.0);
    // Health: 1 healthy, -1 without a health check (the job, the root).
    assert_eq!(val(&m, "container_health_state", &web), 1.0);
    assert_eq!(val(&m, "container_health_state", &[("id", "/")]), -1.0);
    assert_eq!(
        val(&m, "container_memory_total_active_file_bytes", &web),
        20_480.0
    );
    assert_eq!(
        val(&m, "container_memory_total_inactive_file_bytes", &web),
        23_138_304.0
    );
    for name in [
        "container_memory_events_high_total",
        "container_memory_events_max_total",
        "container_pressure_cpu_stalled_seconds_total",
        "container_pressure_cpu_waiting_seconds_total",
        "container_pressure_memory_stalled_seconds_total",
        "container_pressure_memory_waiting_seconds_total",
        "container_pressure_io_stalled_seconds_total",
        "container_pressure_io_waiting_seconds_total",
    ] {
        assert_eq!(val(&m, name, &web), 0.0, "{name}");
    }
    assert_close(val(&m, "container_cpu_user_seconds_total", &web), 25.0);
    assert_close(val(&m, "container_cpu_system_seconds_total", &web), 10.0);
    assert_eq!(val(&m, "container_cpu_cfs_periods_total", &web), 1200.0);
    assert_eq!(
        val(&m, "container_cpu_cfs_throttled_periods_total", &web),
        75.0
    );
    assert_close(
        val(&m, "container_cpu_cfs_throttled_seconds_total", &web),
        4.5,
    );
    assert_eq!(val(&m, "container_spec_cpu_quota", &web), 50000.0);
    assert_eq!(val(&m, "container_spec_cpu_period", &web), 100000.0);
    assert_eq!(val(&m, "container_spec_cpu_shares", &web), 512.0);
    // Memory: working set = usage − total_inactive_file; page faults are the cgroup's own.
    assert_eq!(val(&m, "container_memory_usage_bytes", &web), 24_227_840.0);
    assert_eq!(
        val(&m, "container_memory_working_set_bytes", &web),
        1_089_536.0
    );
    assert_eq!(
        val(&m, "container_memory_max_usage_bytes", &web),
        25_124_864.0
    );
    assert_eq!(val(&m, "container_memory_rss", &web), 204_800.0);
    assert_eq!(val(&m, "container_memory_cache", &web), 23_158_784.0);
    assert_eq!(val(&m, "container_memory_mapped_file", &web), 1_626_112.0);
    assert_eq!(val(&m, "container_memory_swap", &web), 0.0);
    assert_eq!(val(&m, "container_memory_failcnt", &web), 3.0);
    // cAdvisor's TYPE for it is counter (a counter without `_total`), and so is ours.
    assert_eq!(
        m.get("container_memory_failcnt").map(|f| f.kind),
        Some(hostlens_collectors::Kind::Counter)
    );
    for scope in ["container", "hierarchy"] {
        let l = lab(&[("failure_type", "pgfault"), ("scope", scope)]);
        assert_eq!(val(&m, "container_memory_failures_total", &l), 1563.0);
        let l = lab(&[("failure_type", "pgmajfault"), ("scope", scope)]);
        assert_eq!(val(&m, "container_memory_failures_total", &l), 34.0);
    }
    assert_eq!(
        val(&m, "container_spec_memory_limit_bytes", &web),
        268_435_456.0
    );
    assert_eq!(
        val(&m, "container_spec_memory_swap_limit_bytes", &web),
        536_870_912.0
    );
    assert_eq!(
        val(&m, "container_spec_memory_reservation_limit_bytes", &web),
        0.0
    );
    assert_eq!(val(&m, "container_oom_events_total", &web), 1.0);
    // Network: eth0 only (lo ignored).
    let eth0 = lab(&[("interface", "eth0")]);
    assert_eq!(
        val(&m, "container_network_receive_bytes_total", &eth0),
        736.0
    );
    assert_eq!(
        val(&m, "container_network_receive_packets_total", &eth0),
        8.0
    );
    assert_eq!(
        val(&m, "container_network_receive_packets_dropped_total", &eth0),
        1.0
    );
    assert_eq!(
        val(&m, "container_network_transmit_bytes_total", &eth0),
        1024.0
    );
    assert_eq!(
        val(&m, "container_network_transmit_errors_total", &eth0),
        2.0
    );
    assert!(!has(
        &m,
        "container_network_receive_bytes_total",
        &[("interface", "lo")]
    ));
    // Block I/O from blkio.throttle.*_recursive (the bfq files hold only "Total 0").
    let vda = lab(&[("device", "/dev/vda")]);
    assert_eq!(val(&m, "container_fs_reads_bytes_total", &vda), 1_310_720.0);
    assert_eq!(val(&m, "container_fs_writes_bytes_total", &vda), 409_600.0);
    assert_eq!(val(&m, "container_fs_reads_total", &vda), 40.0);
    assert_eq!(val(&m, "container_fs_writes_total", &vda), 25.0);
    assert_eq!(
        val(
            &m,
            "container_fs_reads_bytes_total",
            &lab(&[("device", "")])
        ),
        4096.0
    );
    assert_eq!(
        val(&m, "container_start_time_seconds", &web),
        1_732_496_194.0
    );
    assert_eq!(
        val(&m, "container_creation_time_seconds", &web),
        1_732_496_193.0
    );
    assert_eq!(val(&m, "container_last_seen", &web), 1_750_000_000.0);

    // The job container (found through /proc): no quota → no cfs series, unlimited memory prints 0, only
    // lo → no network series, no I/O; its Docker label reaches every series as "" elsewhere.
    let job_id = format!("/ci/{ID_B}");
    let job = [
        ("id", job_id.as_str()),
        ("name", "job"),
        ("image", "alpine:3.20"),
        (LABEL, "job"),
    ];
    assert!(!has(&m, "container_cpu_cfs_periods_total", &job[..1]));
    assert!(!has(&m, "container_spec_cpu_quota", &job[..1]));
    assert_eq!(val(&m, "container_spec_cpu_period", &job), 100000.0);
    assert_eq!(val(&m, "container_spec_memory_limit_bytes", &job), 0.0);
    assert!(!has(&m, "container_network_receive_bytes_total", &job[..1]));
    assert!(!has(&m, "container_fs_reads_total", &job[..1]));
    assert_eq!(
        val(&m, "container_start_time_seconds", &job),
        1_732_400_000.0
    );
    assert!(
        m.get("container_last_seen")
            .is_some_and(|f| f.samples.len() == 3),
        "root, web, job"
    );
    assert!(!has(&m, "container_last_seen", &[("name", "gone")]));

    // The root: machine memory as its limit, host interfaces without lo/docker0/veth, blkio of the root.
    let root = [("id", "/")];
    assert!(m
        .get("container_last_seen")
        .is_some_and(|f| f.samples.iter().any(|s| s.labels
            == [
                (LABEL.to_string(), String::new()),
                ("id".to_string(), "/".to_string()),
                ("image".to_string(), String::new()),
                ("name".to_string(), String::new())
            ])));
    let (per_cpu, sum) = cpu_usage(&m, &[("id", "/")]);
    assert_eq!(per_cpu.len(), 4);
    assert_close(sum, 325.224894833);
    assert_close(val(&m, "container_cpu_user_seconds_total", &root), 274.48);
    assert_eq!(
        val(&m, "container_memory_working_set_bytes", &root),
        (3_332_820_992u64 - 1_845_415_936) as f64
    );
    assert_eq!(
        val(&m, "container_spec_memory_limit_bytes", &root),
        4_013_948.0 * 1024.0
    );
    assert_eq!(
        val(&m, "container_spec_memory_swap_limit_bytes", &root),
        0.0
    );
    assert_eq!(val(&m, "container_spec_cpu_shares", &root), 1024.0);
    assert!(!has(&m, "container_spec_cpu_quota", &root));
    let ens3 = [("id", "/"), ("interface", "ens3")];
    assert_eq!(
        val(&m, "container_network_receive_bytes_total", &ens3),
        9_000_000.0
    );
    assert_eq!(
        val(
            &m,
            "container_network_transmit_packets_dropped_total",
            &ens3
        ),
        4.0
    );
    for ignored in ["lo", "docker0", "veth1a2b3c"] {
        assert!(!has(
            &m,
            "container_network_receive_bytes_total",
            &[("interface", ignored)]
        ));
    }
    assert_eq!(
        val(
            &m,
            "container_fs_writes_total",
            &[("id", "/"), ("device", "/dev/vda")]
        ),
        40000.0
    );
    assert_eq!(
        val(&m, "container_start_time_seconds", &root),
        PINNED as f64
    );
    assert_eq!(val(&m, "container_scrape_error", &[]), 0.0);
    assert_eq!(
        val(
            &m,
            "hostlens_container_runtime_up",
            &[("runtime", "docker")]
        ),
        1.0
    );
    println!("v1 fixture: root + 2 running containers (driver path and /proc fallback), 1 stopped skipped");
}

#[test]
fn v2_unified_systemd_fixture() {
    let (roots, fs) = setup("v2");
    assert_eq!(fs.layout(), Layout::Unified);
    let snap = v2_snapshot();
    let id = format!("/system.slice/docker-{ID_V}.scope");
    assert_eq!(
        fs.container_cgroup(&roots, &snap.containers[0], None),
        Some(id.clone())
    );

    let m = collect("v2", snap);
    let db = [
        ("id", id.as_str()),
        ("name", "db"),
        ("image", "postgres:17"),
    ];
    let lab = |extra: &[(&'static str, &'static str)]| -> Vec<(&str, &str)> {
        db.iter().copied().chain(extra.iter().copied()).collect()
    };
    assert_close(
        val(
            &m,
            "container_cpu_usage_seconds_total",
            &lab(&[("cpu", "total")]),
        ),
        2.5,
    );
    assert_close(val(&m, "container_cpu_user_seconds_total", &db), 2.0);
    // Burst: cpu.stat `nr_bursts`, `burst_usec`.
    assert_eq!(val(&m, "container_cpu_cfs_burst_periods_total", &db), 3.0);
    assert_close(val(&m, "container_cpu_cfs_burst_seconds_total", &db), 0.12);
    // PSI: `full` is "stalled", `some` is "waiting", total= µs.
    for (name, want) in [
        ("container_pressure_cpu_stalled_seconds_total", 1.25),
        ("container_pressure_cpu_waiting_seconds_total", 4.25),
        ("container_pressure_memory_stalled_seconds_total", 0.40625),
        ("container_pressure_memory_waiting_seconds_total", 0.8125),
        ("container_pressure_io_stalled_seconds_total", 1.5),
        ("container_pressure_io_waiting_seconds_total", 2.0),
    ] {
        assert_close(val(&m, name, &db), want);
        // The fixture's root has no pressure files (a kernel without PSI): 0, as cAdvisor prints.
        assert_eq!(val(&m, name, &[("id", "/")]), 0.0, "{name}");
    }
    // memory.events `high`/`max` next to `oom_kill`; the LRU file sizes from memory.stat; no kernel
    // usage on v2 (runc fills it from v1's kmem only).
    assert_eq!(val(&m, "container_memory_events_high_total", &db), 9.0);
    assert_eq!(val(&m, "container_memory_events_max_total", &db), 4.0);
    assert_eq!(val(&m, "container_oom_events_total", &db), 1.0);
    assert_eq!(
        val(&m, "container_memory_total_active_file_bytes", &db),
        20_971_520.0
    );
    assert_eq!(
        val(&m, "container_memory_total_inactive_file_bytes", &db),
        31_457_280.0
    );
    assert_eq!(val(&m, "container_memory_kernel_usage", &db), 0.0);
    // Health: unhealthy (and starting) is 0.
    assert_eq!(val(&m, "container_health_state", &db), 0.0);
    assert_close(val(&m, "container_cpu_system_seconds_total", &db), 0.5);
    assert_eq!(val(&m, "container_cpu_cfs_periods_total", &db), 100.0);
    assert_eq!(
        val(&m, "container_cpu_cfs_throttled_periods_total", &db),
        7.0
    );
    assert_close(
        val(&m, "container_cpu_cfs_throttled_seconds_total", &db),
        0.35,
    );
    assert_eq!(val(&m, "container_spec_cpu_quota", &db), 150000.0);
    assert_eq!(val(&m, "container_spec_cpu_period", &db), 100000.0);
    // cpu.weight 39 (what runc writes for 1024 shares) → cAdvisor's conversion gives 998.
    assert_eq!(val(&m, "container_spec_cpu_shares", &db), 998.0);
    assert_eq!(val(&m, "container_memory_usage_bytes", &db), 67_108_864.0);
    assert_eq!(
        val(&m, "container_memory_working_set_bytes", &db),
        (67_108_864 - 31_457_280) as f64
    );
    assert_eq!(
        val(&m, "container_memory_max_usage_bytes", &db),
        83_886_080.0
    );
    assert_eq!(val(&m, "container_memory_swap", &db), 1_048_576.0);
    assert_eq!(val(&m, "container_memory_cache", &db), 52_428_800.0);
    assert_eq!(val(&m, "container_memory_rss", &db), 10_485_760.0);
    assert_eq!(val(&m, "container_memory_mapped_file", &db), 4_194_304.0);
    assert_eq!(val(&m, "container_memory_failcnt", &db), 0.0);
    assert_eq!(
        val(
            &m,
            "container_memory_failures_total",
            &lab(&[("failure_type", "pgmajfault"), ("scope", "container")])
        ),
        67.0
    );
    assert_eq!(
        val(&m, "container_spec_memory_limit_bytes", &db),
        134_217_728.0
    );
    assert_eq!(
        val(&m, "container_spec_memory_swap_limit_bytes", &db),
        0.0,
        "max prints 0"
    );
    assert_eq!(val(&m, "container_oom_events_total", &db), 1.0);
    assert_eq!(
        val(
            &m,
            "container_network_receive_errors_total",
            &lab(&[("interface", "eth1")])
        ),
        1.0
    );
    assert_eq!(
        val(
            &m,
            "container_network_transmit_bytes_total",
            &lab(&[("interface", "eth0")])
        ),
        10240.0
    );
    let nvme = lab(&[("device", "/dev/nvme0n1")]);
    assert_eq!(
        val(&m, "container_fs_reads_bytes_total", &nvme),
        1_459_200.0
    );
    assert_eq!(
        val(&m, "container_fs_writes_bytes_total", &nvme),
        314_773_504.0
    );
    assert_eq!(val(&m, "container_fs_reads_total", &nvme), 192.0);
    assert_eq!(val(&m, "container_fs_writes_total", &nvme), 353.0);

    // The v2 root: no memory.current → anon + file, swap from meminfo; no cpu.max/cpu.weight → 0.
    let root = [("id", "/")];
    assert_eq!(
        val(&m, "container_memory_usage_bytes", &root),
        1_598_029_824.0
    );
    assert_eq!(
        val(&m, "container_memory_working_set_bytes", &root),
        (1_598_029_824u64 - 536_870_912) as f64
    );
    assert_eq!(val(&m, "container_memory_swap", &root), 8192.0 * 1024.0);
    assert_eq!(
        val(&m, "container_spec_memory_limit_bytes", &root),
        8_029_412.0 * 1024.0
    );
    assert_eq!(
        val(&m, "container_spec_memory_swap_limit_bytes", &root),
        2_097_148.0 * 1024.0
    );
    assert_eq!(val(&m, "container_spec_cpu_period", &root), 0.0);
    assert_eq!(val(&m, "container_spec_cpu_shares", &root), 0.0);
    assert!(
        !has(&m, "container_oom_events_total", &root),
        "the v2 root has no memory.events"
    );
    assert_close(
        val(
            &m,
            "container_cpu_usage_seconds_total",
            &[("id", "/"), ("cpu", "total")],
        ),
        153.179219,
    );
    assert_eq!(
        val(
            &m,
            "container_fs_reads_total",
            &[("id", "/"), ("device", "/dev/nvme0n1")]
        ),
        200000.0
    );
    assert_eq!(
        val(
            &m,
            "container_network_receive_packets_dropped_total",
            &[("id", "/"), ("interface", "enp1s0")]
        ),
        5.0
    );
    assert_eq!(
        val(&m, "container_start_time_seconds", &root),
        PINNED as f64
    );
    println!("v2 fixture: root + 1 systemd-driver container");
}

#[test]
fn runtime_down_keeps_the_root_with_only_its_id() {
    let snap = Snapshot {
        runtime_up: false,
        reason: Some("connect: connection refused".into()),
        driver: None,
        containers: vec![],
    };
    let m = collect("v1", snap);
    let f = m.get("container_memory_usage_bytes").expect("root memory");
    assert_eq!(f.samples.len(), 1);
    // No container listed: cAdvisor's label union is just `id`.
    assert_eq!(f.samples[0].labels, [("id".to_string(), "/".to_string())]);
    assert_eq!(
        val(
            &m,
            "hostlens_container_runtime_up",
            &[("reason", "unreachable"), ("runtime", "docker")]
        ),
        0.0
    );
}

#[test]
fn a_running_container_whose_cgroup_is_not_visible_is_a_scrape_error() {
    // Its /proc/<pid>/cgroup path comes through another cgroup namespace (`/../..`) and the systemd path
    // does not exist under this root: left out, and container_scrape_error says so.
    let mut snap = v2_snapshot();
    snap.containers
        .push(container(ID_N, "elsewhere", "busybox", Some(5252)));
    let m = collect("v2", snap);
    assert_eq!(val(&m, "container_scrape_error", &[]), 1.0);
    assert!(!has(&m, "container_last_seen", &[("name", "elsewhere")]));
    assert!(has(&m, "container_last_seen", &[("name", "db")]));
    assert!(has(&m, "container_last_seen", &[("id", "/")]));
}

#[test]
fn a_missing_mount_root_is_no_data() {
    let dir = std::env::temp_dir().join(format!("hostlens-cgroup-gone-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("memory")).expect("temp dir");
    std::fs::write(dir.join("memory/cgroup.procs"), "").expect("temp file");
    let fs = CgroupFs::detect(&dir).expect("a v1 memory hierarchy");
    assert_eq!(fs.layout(), Layout::Legacy);
    std::fs::remove_dir_all(&dir).expect("removing");
    let c = ContainerCollector::new(
        Arc::new(Roots::default()),
        fs,
        Arc::new(Snapshot::default()),
    );
    let e = c.collect(&mut MetricSet::new()).expect_err("no mount root");
    assert!(e.is_no_data(), "{e}");
    assert!(e.to_string().contains("does not exist"), "{e}");
}

fn golden(layout: &str, snap: Snapshot) {
    let m = collect(layout, snap);
    let gathered = hostlens_exposition::gather(vec![("container".into(), m)]);
    assert!(gathered.dropped.is_empty(), "{:?}", gathered.dropped);
    // hostlens's version is cadvisor_version_info's `cadvisorVersion`: not pinned in the golden file.
    let text = hostlens_exposition::encode(&gathered.families).replace(
        &format!("cadvisorVersion=\"{}\"", env!("CARGO_PKG_VERSION")),
        "cadvisorVersion=\"VERSION\"",
    );
    common::assert_golden(&fixture(layout).with_extension("golden.txt"), &text, "");
}

#[test]
fn v1_fixture_matches_its_golden_file() {
    golden("v1", v1_snapshot());
}

#[test]
fn v2_fixture_matches_its_golden_file() {
    golden("v2", v2_snapshot());
}

fn host_memory() -> HostMemory {
    let text = std::fs::read_to_string("/proc/meminfo").expect("/proc/meminfo");
    let kb = |k: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix(k))
            .and_then(|r| r.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .map_or(0, |v: u64| v * 1024)
    };
    HostMemory {
        mem_total: kb("MemTotal:"),
        swap_total: kb("SwapTotal:"),
        swap_free: kb("SwapFree:"),
    }
}

/// The real cgroup tree of this machine: its root cgroup through the collector, and the cgroup2 hierarchy
/// of a hybrid host read on its own as v2. The real kernel's tree differs from host to host (and is absent
/// in some sandboxes): `#[ignore]`d in a plain `cargo test`, run by `make test`.
#[test]
#[ignore = "needs the real kernel's cgroup tree (/sys/fs/cgroup)"]
fn real_cgroup_tree_of_this_machine() {
    let mount = Path::new("/sys/fs/cgroup");
    assert!(
        mount.join("cgroup.procs").is_file()
            || std::fs::read_dir(mount).is_ok_and(|d| d.flatten().any(|e| e.path().join("cgroup.procs").is_file())),
        "prerequisite missing: a mounted cgroup tree at /sys/fs/cgroup (run on a Linux host with cgroups mounted)"
    );
    let fs = CgroupFs::detect(mount).expect("detects the real layout");
    println!("real: {}", fs.describe());
    let root = fs
        .read_root(&host_memory())
        .expect("reads the real root cgroup");
    let cpu = root.cpu.expect("real root CPU usage");
    assert!(cpu.usage_ns > 0 && cpu.user_ns > 0, "{cpu:?}");
    let mem = root.memory.expect("real root memory");
    assert!(mem.usage > 0 && mem.working_set <= mem.usage, "{mem:?}");
    println!(
        "real {:?} root: cpu {:.1} s (user {:.1}, system {:.1}), memory {} B (working set {} B), spec {:?}, io devices {}",
        fs.layout(),
        cpu.usage_ns as f64 / 1e9,
        cpu.user_ns as f64 / 1e9,
        cpu.system_ns as f64 / 1e9,
        mem.usage,
        mem.working_set,
        root.cpu_spec,
        root.io.as_ref().map_or(0, Vec::len)
    );
    // Through the collector, with the host's /proc and /sys and no runtime.
    let c = ContainerCollector::new(
        Arc::new(Roots::default()),
        fs.clone(),
        Arc::new(Snapshot::default()),
    );
    let mut m = MetricSet::new();
    c.collect(&mut m).expect("collects on the real tree");
    // Per-CPU series on v1 (cpuacct.usage_percpu), the `total` one on v2; either way > 0.
    let (per_cpu, sum) = cpu_usage(&m, &[("id", "/")]);
    assert!(sum > 0.0, "{per_cpu:?}");
    assert_eq!(
        per_cpu.iter().any(|(c, _)| c == "total"),
        fs.layout() == Layout::Unified,
        "{per_cpu:?}"
    );
    assert!(val(&m, "container_memory_working_set_bytes", &[("id", "/")]) > 0.0);
    assert!(val(&m, "container_start_time_seconds", &[("id", "/")]) > 1e9);
    println!(
        "real {:?}: collector emitted {} families for the root cgroup",
        fs.layout(),
        m.families().len()
    );

    // Every cgroup directory one level down (e.g. /docker, /system.slice) reads without error.
    let mut children = 0;
    if let Some(dir) = ["memory", "cpuacct", "cpu", "unified"]
        .iter()
        .map(|d| mount.join(d))
        .chain(std::iter::once(mount.to_path_buf()))
        .find(|d| d.join("cgroup.procs").is_file())
    {
        for e in std::fs::read_dir(&dir).expect("lists").flatten() {
            if e.path().join("cgroup.procs").is_file() {
                let cg = format!("/{}", e.file_name().to_string_lossy());
                let s = fs.read(&cg).expect("reads a real child cgroup");
                assert!(s.is_some(), "{cg} exists");
                children += 1;
            }
        }
    }
    println!(
        "real {:?}: read {children} child cgroups of the root",
        fs.layout()
    );

    let unified = mount.join("unified");
    if fs.layout() == Layout::Hybrid && unified.join("cgroup.controllers").is_file() {
        let v2 = CgroupFs::detect(&unified).expect("the cgroup2 hierarchy of a hybrid host");
        assert_eq!(v2.layout(), Layout::Unified);
        println!("real v2: {}", v2.describe());
        let r = v2
            .read_root(&host_memory())
            .expect("reads the real cgroup2 root");
        let cpu = r.cpu.expect("cpu.stat exists in every cgroup2 cgroup");
        assert!(cpu.usage_ns > 0, "{cpu:?}");
        println!(
            "real v2 root: cpu.stat usage {:.1} s (user {:.1}, system {:.1}) read from a real cgroup2 hierarchy",
            cpu.usage_ns as f64 / 1e9,
            cpu.user_ns as f64 / 1e9,
            cpu.system_ns as f64 / 1e9
        );
        let mut ran = vec!["cpu.stat (root)"];
        for e in std::fs::read_dir(&unified).expect("lists").flatten() {
            if e.path().join("cgroup.procs").is_file() {
                let cg = format!("/{}", e.file_name().to_string_lossy());
                let before = std::fs::read_to_string(e.path().join("cpu.pressure"));
                let s = v2.read(&cg).expect("reads").expect("exists");
                assert!(s.cpu.is_some(), "{cg}: cpu.stat");
                ran.push("cpu.stat (child)");
                // PSI per cgroup, where the kernel has it (CONFIG_PSI, not psi=0): the cumulative `some`
                // total read through the collector lies between a read before and one after.
                if let Ok(before) = before {
                    let total = |t: &str| -> u64 {
                        t.lines()
                            .find(|l| l.starts_with("some"))
                            .and_then(|l| l.rsplit_once("total="))
                            .and_then(|(_, v)| v.trim().parse().ok())
                            .expect("a some total=")
                    };
                    let after = std::fs::read_to_string(e.path().join("cpu.pressure"))
                        .expect("cpu.pressure still there");
                    let got = s.pressure.cpu.some_us;
                    assert!(
                        total(&before) <= got && got <= total(&after),
                        "{cg}: cpu.pressure some {got} not within {} ..= {}",
                        total(&before),
                        total(&after)
                    );
                    println!("real v2 {cg}: cpu.pressure some total {got} µs read from a real cgroup2 hierarchy");
                    ran.push("cpu.pressure (child)");
                } else {
                    println!(
                        "SKIPPED: real cgroup2 PSI: {cg} has no cpu.pressure (kernel without PSI)"
                    );
                }
            }
        }
        println!("real v2: ran {ran:?}");
        for (part, real) in [
            ("memory (memory controller)", r.memory.is_some()),
            ("io (io controller)", r.io.is_some()),
            (
                "cpu.max/cpu.weight (cpu controller)",
                r.cpu_spec.is_some_and(|s| s.period_us > 0),
            ),
        ] {
            if real {
                println!("real v2: {part} read from the real hierarchy");
            } else {
                println!(
                    "SKIPPED: real cgroup2 {part}: not enabled in this host's cgroup2 hierarchy; checked \
                     only on the v2 fixture"
                );
            }
        }
    } else if fs.layout() == Layout::Unified {
        println!("real: the host is cgroup v2 only; the v2 reads above ran on the real hierarchy");
    } else {
        println!(
            "SKIPPED: real cgroup2 reads: no cgroup2 hierarchy beside v1 on this host; checked only on the \
             v2 fixture"
        );
    }
}

#[test]
fn a_container_on_the_host_network_has_no_network_series() {
    // `--network host` (or `container:<id>`): its /proc/<pid>/net/dev is someone else's interfaces.
    let mut snap = v1_snapshot();
    for c in &mut snap.containers {
        c.shares_network = c.name == "web";
    }
    let m = collect("v1", snap);
    assert!(!has(
        &m,
        "container_network_receive_bytes_total",
        &[("name", "web")]
    ));
    assert!(has(
        &m,
        "container_cpu_usage_seconds_total",
        &[("name", "web")]
    ));
}

/// A copy of a fixture tree (symlinks kept as symlinks) in a fresh temp dir, for tests that change it.
fn copy_fixture(layout: &str, test: &str) -> PathBuf {
    fn copy(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("temp dir");
        for entry in std::fs::read_dir(from).expect("fixture dir") {
            let path = entry.expect("entry").path();
            let dest = to.join(path.file_name().expect("a name"));
            if path.is_symlink() {
                let target = std::fs::read_link(&path).expect("symlink");
                std::os::unix::fs::symlink(target, &dest).expect("copying a symlink");
            } else if path.is_dir() {
                copy(&path, &dest);
            } else {
                std::fs::copy(&path, &dest).expect("copying a file");
            }
        }
    }
    let dir = std::env::temp_dir().join(format!("hostlens-cgroup-{test}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    copy(&fixture(layout), &dir);
    dir
}

/// One layout's case for [`later_scrapes_use_the_known_files_and_follow_what_goes`].
struct Follow<'a> {
    layout: &'a str,
    snap: Snapshot,
    /// The container, its cgroup path and its directories (under the mount root) in each hierarchy.
    name: &'a str,
    image: &'a str,
    id: String,
    dirs: Vec<String>,
    /// A file of it (under the mount root) whose value the metric shows, and that value.
    file: String,
    metric: &'a str,
    value: f64,
}

fn follow(case: Follow<'_>) {
    let dir = copy_fixture(case.layout, "known");
    let roots = Arc::new(Roots::new(dir.join("proc"), dir.join("sys"), &dir, None));
    let mount = CgroupFs::default_mount_root(&roots);
    let fs = CgroupFs::detect(&mount).expect("detects the copied layout");
    let c = ContainerCollector::new(roots, fs, Arc::new(case.snap)).with_clock(fixed_now);
    let scrape = || {
        let mut m = MetricSet::new();
        c.collect(&mut m).expect("collects");
        m
    };
    let text = |m: MetricSet| {
        hostlens_exposition::encode(
            &hostlens_exposition::gather(vec![("container".into(), m)]).families,
        )
    };
    let labels = [
        ("id", case.id.as_str()),
        ("name", case.name),
        ("image", case.image),
    ];

    let first = text(scrape());
    assert_eq!(
        text(scrape()),
        first,
        "{}: the second scrape, on the known files",
        case.layout
    );

    // A file that was there goes while the cgroup stays: read as absent (0), and looked for again after.
    let file = mount.join(&case.file);
    assert_eq!(val(&scrape(), case.metric, &labels), case.value);
    std::fs::remove_file(&file).expect("removing the file");
    let m = scrape();
    assert_eq!(val(&m, case.metric, &labels), 0.0, "{}", case.layout);
    assert_eq!(val(&m, "container_scrape_error", &[]), 0.0);
    std::fs::write(&file, "5\n").expect("writing the file back");
    assert_eq!(val(&scrape(), case.metric, &labels), 5.0, "{}", case.layout);

    // The container stops: its cgroup goes while Docker still lists it. Left out, not an error.
    for d in &case.dirs {
        std::fs::remove_dir_all(mount.join(d)).expect("removing the container's cgroup");
    }
    let m = scrape();
    assert!(
        !has(&m, "container_last_seen", &[("name", case.name)]),
        "{}",
        case.layout
    );
    assert!(has(&m, "container_last_seen", &[("id", "/")]));
    assert_eq!(val(&m, "container_scrape_error", &[]), 0.0);
    std::fs::remove_dir_all(&dir).expect("cleanup");
}

/// Later scrapes open only the files the first one found (each cgroup's layout is known once); they give
/// the same output, and still follow a file that goes from a cgroup that stays, and a container whose
/// cgroup goes before Docker reports it stopped. On both fixture layouts.
#[test]
fn later_scrapes_use_the_known_files_and_follow_what_goes() {
    follow(Follow {
        layout: "v1",
        snap: v1_snapshot(),
        name: "web",
        image: "nginx:1.27",
        id: format!("/docker/{ID_A}"),
        dirs: ["memory", "cpu,cpuacct", "blkio"]
            .iter()
            .map(|h| format!("{h}/docker/{ID_A}"))
            .collect(),
        file: format!("memory/docker/{ID_A}/memory.failcnt"),
        metric: "container_memory_failcnt",
        value: 3.0,
    });
    let scope = format!("system.slice/docker-{ID_V}.scope");
    follow(Follow {
        layout: "v2",
        snap: v2_snapshot(),
        name: "db",
        image: "postgres:17",
        id: format!("/{scope}"),
        dirs: vec![scope.clone()],
        file: format!("{scope}/memory.peak"),
        metric: "container_memory_max_usage_bytes",
        value: 83_886_080.0,
    });
}

/// The machine group on this host equals what the host itself reports: `getconf _NPROCESSORS_ONLN`
/// (and `nproc` where the test's CPU affinity is not narrowed), the `processor` entries and distinct
/// `physical id`s of `/proc/cpuinfo`, `MemTotal`/`SwapTotal` of `/proc/meminfo`, the boot ID.
#[test]
fn machine_metrics_equal_what_this_host_reports() {
    let roots = Arc::new(Roots::default());
    let mount = CgroupFs::default_mount_root(&roots);
    let Ok(fs) = CgroupFs::detect(&mount) else {
        println!("SKIPPED: no cgroup hierarchy at {}", mount.display());
        return;
    };
    let c = ContainerCollector::new(roots, fs, Arc::new(Snapshot::default()));
    let mut m = MetricSet::new();
    c.collect(&mut m).expect("collects on this host");
    assert_eq!(val(&m, "machine_scrape_error", &[]), 0.0);
    let boot_id = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").expect("boot_id");
    let boot_id = boot_id.trim();
    let machine = |name: &str| -> f64 {
        let fam = m.get(name).unwrap_or_else(|| panic!("no {name}"));
        assert_eq!(fam.samples.len(), 1, "{name}");
        let s = &fam.samples[0];
        assert!(
            s.labels.iter().any(|(k, v)| k == "boot_id" && v == boot_id),
            "{name}: {:?}",
            s.labels
        );
        let names: Vec<&str> = s.labels.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(names, ["boot_id", "machine_id", "system_uuid"], "{name}");
        match s.value {
            hostlens_collectors::Value::Scalar(x) => x,
            _ => panic!("{name}: not a scalar"),
        }
    };
    let cmd = |prog: &str, args: &[&str]| -> Option<f64> {
        let out = std::process::Command::new(prog).args(args).output().ok()?;
        String::from_utf8(out.stdout).ok()?.trim().parse().ok()
    };
    let cores = machine("machine_cpu_cores");
    let online = cmd("getconf", &["_NPROCESSORS_ONLN"]).expect("getconf _NPROCESSORS_ONLN");
    assert_eq!(cores, online);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").expect("cpuinfo");
    let processors = cpuinfo
        .lines()
        .filter(|l| l.starts_with("processor"))
        .count();
    assert_eq!(cores, processors as f64);
    match cmd("nproc", &[]) {
        Some(n) if n == online => assert_eq!(cores, n),
        Some(n) => {
            println!("nproc says {n}: this test's CPU affinity is narrowed; compared with getconf")
        }
        None => println!("SKIPPED: the nproc comparison (no nproc)"),
    }
    let sockets: BTreeSet<&str> = cpuinfo
        .lines()
        .filter(|l| l.starts_with("physical id"))
        .filter_map(|l| l.split(':').nth(1).map(str::trim))
        .collect();
    if !sockets.is_empty() {
        assert_eq!(machine("machine_cpu_sockets"), sockets.len() as f64);
    }
    let physical = machine("machine_cpu_physical_cores");
    assert!(
        physical >= 1.0 && physical <= cores,
        "{physical} of {cores}"
    );
    let meminfo = std::fs::read_to_string("/proc/meminfo").expect("meminfo");
    let kb = |key: &str| -> f64 {
        let line = meminfo
            .lines()
            .find(|l| l.starts_with(key))
            .unwrap_or_else(|| panic!("no {key}"));
        let v: f64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|v| v.parse().ok())
            .expect("a number");
        v * 1024.0
    };
    assert_eq!(machine("machine_memory_bytes"), kb("MemTotal:"));
    assert_eq!(machine("machine_swap_bytes"), kb("SwapTotal:"));
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").expect("osrelease");
    let v = m.get("cadvisor_version_info").expect("version info");
    assert!(v.samples[0]
        .labels
        .iter()
        .any(|(k, val)| k == "kernelVersion" && val == release.trim()));
    println!(
        "machine: {cores} logical CPUs, {physical} physical cores, {} B memory",
        kb("MemTotal:")
    );
}

/// cAdvisor's process group (off by default, as there): processes from `cgroup.procs` (one listed process
/// has exited: counted, with no descriptors), descriptors and sockets from `/proc/<pid>/fd`, threads from
/// `pids.current`/`pids.max` (`max` → 0).
#[test]
fn process_group_on_the_fixtures_when_enabled() {
    for (layout, snap, id, want) in [
        (
            "v1",
            v1_snapshot(),
            format!("/docker/{ID_A}"),
            [2.0, 5.0, 2.0, 5.0, 128.0],
        ),
        (
            "v2",
            v2_snapshot(),
            format!("/system.slice/docker-{ID_V}.scope"),
            [1.0, 3.0, 1.0, 7.0, 4096.0],
        ),
    ] {
        let (roots, fs) = setup(layout);
        let off = ContainerCollector::new(roots.clone(), fs.clone(), Arc::new(snap.clone()));
        let mut m = MetricSet::new();
        off.collect(&mut m).expect("collects");
        assert!(
            m.get("container_processes").is_none(),
            "{layout}: on by default"
        );

        let on = ContainerCollector::new(roots, fs, Arc::new(snap)).with_process_metrics(true);
        let mut m = MetricSet::new();
        on.collect(&mut m).expect("collects");
        let names = [
            "container_processes",
            "container_file_descriptors",
            "container_sockets",
            "container_threads",
            "container_threads_max",
        ];
        for (name, want) in names.iter().zip(want) {
            let got = m
                .get(name)
                .and_then(|f| {
                    f.samples
                        .iter()
                        .find(|s| s.labels.iter().any(|(k, v)| k == "id" && *v == id))
                })
                .map(|s| match s.value {
                    hostlens_collectors::Value::Scalar(x) => x,
                    _ => panic!("not a scalar"),
                });
            assert_eq!(got, Some(want), "{layout} {name}");
            assert_eq!(
                m.get(name).map(|f| f.kind),
                Some(hostlens_collectors::Kind::Gauge)
            );
        }
    }
    // The web container's init process's soft `Max open files`; v2's db has no limits file: no series.
    let (roots, fs) = setup("v1");
    let c = ContainerCollector::new(roots, fs, Arc::new(v1_snapshot())).with_process_metrics(true);
    let mut m = MetricSet::new();
    c.collect(&mut m).expect("collects");
    let web_id = format!("/docker/{ID_A}");
    assert_eq!(
        val(
            &m,
            "container_ulimits_soft",
            &[
                ("id", &web_id),
                ("name", "web"),
                ("image", "nginx:1.27"),
                ("ulimit", "max_open_files")
            ]
        ),
        1_048_576.0
    );
    assert_eq!(
        m.get("container_ulimits_soft").map(|f| f.samples.len()),
        Some(1)
    );
    // v1's ci container: pids.max `max` is 0 ("infinity if value is zero").
    let (roots, fs) = setup("v1");
    let c = ContainerCollector::new(roots, fs, Arc::new(v1_snapshot())).with_process_metrics(true);
    let mut m = MetricSet::new();
    c.collect(&mut m).expect("collects");
    let job = format!("/ci/{ID_B}");
    assert_eq!(
        val(
            &m,
            "container_threads_max",
            &[
                ("id", &job),
                ("name", "job"),
                ("image", "alpine:3.20"),
                (LABEL, "job")
            ]
        ),
        0.0
    );
}
