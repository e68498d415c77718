//! Scrape-time collection: every enabled collector runs on a blocking thread under a time bound; a collector
//! that fails or hangs is reported with `*_scrape_collector_success 0` and the others still serve. What a
//! failing collector collected before its error is kept (node_exporter keeps what was sent). The outputs go
//! through the output layer's gather step (client_golang's order; duplicates dropped, counted per collector
//! and logged) and its text encoder.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hostlens_collectors::{Collector, MetricSet};
use hostlens_exposition::{gather, DropReason, Gathered};

/// One collector and its state across scrapes.
struct Slot {
    /// Family prefix of the scrape metrics it reports under (`node` → `node_scrape_collector_*`).
    family: &'static str,
    collector: Arc<dyn Collector>,
    /// Set while a collection runs on a blocking thread; a collection that outlived its time bound keeps it
    /// set until it returns, so a hung collector (a dead NFS mount) never piles up threads.
    busy: Arc<AtomicBool>,
    /// The last error logged, so a persistent failure is logged once, not on every scrape.
    last_error: Mutex<Option<String>>,
    /// Samples of this collector dropped by the gather step since start (duplicates, inconsistent families).
    dropped: AtomicU64,
    /// What was dropped in the last scrape that dropped anything, so a persistent clash is logged once.
    last_dropped: Mutex<Option<String>>,
}

/// What one collector did in one scrape.
pub struct Outcome {
    pub name: &'static str,
    pub family: &'static str,
    pub duration: Duration,
    pub result: Result<(), String>,
    /// The failure only means "nothing on this host" (node_exporter's ErrNoData).
    pub no_data: bool,
}

/// What a collection worker has done so far, shared with the scrape that waits for it.
#[derive(Default)]
struct Progress {
    /// The collector the worker is in, and since when.
    current: Mutex<Option<(usize, Instant)>>,
    results: Mutex<Vec<(usize, Outcome, MetricSet)>>,
    /// Set by the scrape when it gives up on this worker: the worker stops after its current collector.
    stop: AtomicBool,
}

impl Progress {
    fn set_current(&self, c: Option<(usize, Instant)>) {
        if let Ok(mut cur) = self.current.lock() {
            *cur = c;
        }
    }

    fn current(&self) -> Option<(usize, Instant)> {
        self.current.lock().ok().and_then(|c| *c)
    }

    fn push(&self, i: usize, (o, m): (Outcome, MetricSet)) {
        if let Ok(mut r) = self.results.lock() {
            r.push((i, o, m));
        }
    }

    fn take(&self) -> Vec<(usize, Outcome, MetricSet)> {
        self.results
            .lock()
            .map(|mut r| std::mem::take(&mut *r))
            .unwrap_or_default()
    }
}

/// The collectors of the agent.
pub struct Scraper {
    slots: Vec<Arc<Slot>>,
    timeout: Duration,
    /// Two collection queues in parallel (more than one CPU).
    parallel: bool,
    /// One scrape at a time: concurrent requests wait for each other instead of racing for the collectors.
    lock: tokio::sync::Mutex<()>,
    /// Every collector this build has, enabled or not (for `collect[]`'s "disabled collector" answer).
    known: Vec<String>,
}

/// The encoded result of one scrape.
pub struct Scrape {
    pub text: String,
    pub outcomes: Vec<Outcome>,
}

impl Scraper {
    pub fn new(timeout: Duration) -> Self {
        Scraper {
            slots: Vec::new(),
            timeout,
            parallel: std::thread::available_parallelism().is_ok_and(|n| n.get() > 1),
            lock: tokio::sync::Mutex::new(()),
            known: Vec::new(),
        }
    }

    /// Name every collector the build has, enabled or not.
    pub fn set_known<I: IntoIterator<Item = S>, S: Into<String>>(&mut self, names: I) {
        self.known = names.into_iter().map(Into::into).collect();
    }

    pub fn add(&mut self, family: &'static str, collector: Box<dyn Collector>) {
        self.slots.push(Arc::new(Slot {
            family,
            collector: Arc::from(collector),
            busy: Arc::new(AtomicBool::new(false)),
            last_error: Mutex::new(None),
            dropped: AtomicU64::new(0),
            last_dropped: Mutex::new(None),
        }));
    }

    /// The names of the collectors, in the order they run and are reported.
    pub fn names(&self) -> Vec<&'static str> {
        self.slots.iter().map(|s| s.collector.name()).collect()
    }

    /// The collectors a request's `collect[]` / `exclude[]` parameters select, as node_exporter's handler
    /// selects them: none given → all; both → an error; `collect[]` names must be enabled collectors;
    /// `exclude[]` removes the named ones from the enabled set.
    pub fn select(&self, collect: &[String], exclude: &[String]) -> Result<Vec<usize>, String> {
        if !collect.is_empty() && !exclude.is_empty() {
            return Err("Combined collect and exclude queries are not allowed.".into());
        }
        let names = self.names();
        let prefix = "Couldn't create filtered metrics handler: couldn't create collector";
        if collect.is_empty() {
            return Ok((0..names.len())
                .filter(|&i| !exclude.iter().any(|e| e == names[i]))
                .collect());
        }
        let mut picked = Vec::new();
        for c in collect {
            let i = names.iter().position(|n| n == c).ok_or_else(|| {
                if self.known.iter().any(|k| k == c) {
                    format!("{prefix}: disabled collector: {c}")
                } else {
                    format!("{prefix}: missing collector: {c}")
                }
            })?;
            if !picked.contains(&i) {
                picked.push(i);
            }
        }
        picked.sort_unstable();
        Ok(picked)
    }

    /// Run the collectors of `queue`, one after the other on one blocking worker thread (cheap: no thread
    /// hand-off and no wake-up per collector), each under the time bound. The worker publishes which
    /// collector it is in and since when; the scrape sleeps until the worker is done or the current
    /// collector's deadline passes. When a collector overruns, the scrape records it as timed out, tells that
    /// worker to stop after it, and goes on with the remaining collectors on a fresh worker; the hung
    /// collector keeps its `busy` flag until it returns.
    async fn run_queue(&self, queue: Vec<usize>) -> Vec<(usize, Outcome, MetricSet)> {
        let mut done: Vec<(usize, Outcome, MetricSet)> = Vec::with_capacity(queue.len());
        let mut pending = queue;
        while !pending.is_empty() {
            let progress = Arc::new(Progress::default());
            let (tx, mut finished) = tokio::sync::oneshot::channel::<()>();
            let jobs: Vec<(usize, Arc<Slot>)> = pending
                .iter()
                .map(|&i| (i, self.slots[i].clone()))
                .collect();
            let worker_progress = progress.clone();
            let spawned = tokio::task::spawn_blocking(move || {
                for (i, slot) in jobs {
                    if worker_progress.stop.load(Ordering::Acquire) {
                        return;
                    }
                    worker_progress.set_current(Some((i, Instant::now())));
                    let r = run_slot(&slot);
                    worker_progress.push(i, r);
                }
                worker_progress.set_current(None);
                let _ = tx.send(());
            });
            drop(spawned);
            let mut deadline = tokio::time::Instant::now() + self.timeout;
            let hung = loop {
                tokio::select! {
                    _ = &mut finished => break None,
                    _ = tokio::time::sleep_until(deadline) => {
                        match progress.current() {
                            Some((i, since)) if since.elapsed() >= self.timeout => break Some((i, since)),
                            Some((_, since)) => deadline = tokio::time::Instant::from_std(since + self.timeout),
                            None => deadline = tokio::time::Instant::now() + self.timeout,
                        }
                    }
                }
            };
            progress.stop.store(true, Ordering::Release);
            let finished_now = progress.take();
            pending.retain(|i| !finished_now.iter().any(|(j, _, _)| j == i));
            done.extend(finished_now);
            match hung {
                // It returned just as the scrape gave up on it: its result is in already.
                Some((i, _)) if done.iter().any(|(j, _, _)| *j == i) => {}
                Some((i, since)) => {
                    pending.retain(|&p| p != i);
                    let slot = &self.slots[i];
                    done.push((
                        i,
                        Outcome {
                            name: slot.collector.name(),
                            family: slot.family,
                            duration: since.elapsed(),
                            result: Err(format!(
                                "timed out after {:?}; still running in the background",
                                self.timeout
                            )),
                            no_data: false,
                        },
                        MetricSet::new(),
                    ));
                }
                None => {
                    // The worker finished; anything not reported (it cannot happen: panics are caught)
                    // is recorded rather than retried forever.
                    for i in pending.drain(..) {
                        let slot = &self.slots[i];
                        done.push((
                            i,
                            Outcome {
                                name: slot.collector.name(),
                                family: slot.family,
                                duration: Duration::ZERO,
                                result: Err("the collection worker ended unexpectedly".into()),
                                no_data: false,
                            },
                            MetricSet::new(),
                        ));
                    }
                }
            }
        }
        done
    }

    /// Run every collector: the list is dealt round-robin to two queues that run in parallel (the machine
    /// permitting), which halves scrape latency for little extra CPU.
    async fn run_all(&self, selected: &[usize]) -> Vec<(usize, Outcome, MetricSet)> {
        let (a, b): (Vec<usize>, Vec<usize>) = if self.parallel {
            let (a, b): (Vec<(usize, &usize)>, Vec<_>) =
                selected.iter().enumerate().partition(|(n, _)| n % 2 == 0);
            (
                a.into_iter().map(|(_, &i)| i).collect(),
                b.into_iter().map(|(_, &i)| i).collect(),
            )
        } else {
            (selected.to_vec(), Vec::new())
        };
        let (ra, rb) = tokio::join!(self.run_queue(a), self.run_queue(b));
        let mut all: Vec<(usize, Outcome, MetricSet)> = ra.into_iter().chain(rb).collect();
        all.sort_by_key(|(i, _, _)| *i);
        all
    }

    /// Run every collector and encode the result.
    pub async fn scrape(&self) -> Scrape {
        let all: Vec<usize> = (0..self.slots.len()).collect();
        self.scrape_selected(&all).await
    }

    /// Run the collectors `selected` (indexes from [`Scraper::select`]) and encode the result.
    pub async fn scrape_selected(&self, selected: &[usize]) -> Scrape {
        let _guard = self.lock.lock().await;
        let mut outcomes = Vec::with_capacity(selected.len());
        let mut sources = Vec::with_capacity(selected.len());
        let mut slots = Vec::with_capacity(selected.len());
        for (i, outcome, set) in self.run_all(selected).await {
            let slot = &self.slots[i];
            log_change(slot, &outcome);
            sources.push((outcome.name.to_string(), set));
            outcomes.push(outcome);
            slots.push(slot.clone());
        }
        let collected = gather(sources);
        count_dropped(&slots, &collected);
        let mut own = MetricSet::new();
        scrape_metrics(&mut own, &outcomes);
        dropped_metrics(&mut own, &self.slots);
        if let Err(e) = hostlens_collectors::process::collect_self(&mut own) {
            tracing::warn!("process metrics: {e}");
        }
        build_info(&mut own);
        // The agent's own series join the collected ones (already checked and sorted: cheap).
        let all = gather(vec![
            (
                "collectors".to_string(),
                MetricSet::from_families(collected.families),
            ),
            ("hostlens".to_string(), own),
        ]);
        for d in &all.dropped {
            tracing::warn!(family = %d.family, "the agent's own series clash with a collector's: {:?}", d.reason);
        }
        let text = hostlens_exposition::encode(&all.families);
        Scrape { text, outcomes }
    }
}

/// Go's name of the architecture (`GOARCH`), as node_exporter's `goarch` label has it.
fn goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "loongarch64" => "loong64",
        "arm" => "arm",
        other => other,
    }
}

/// `node_exporter_build_info`, always served as node_exporter serves it (its handler registers the version
/// collector next to the node collectors, whatever `collect[]` selects): node_exporter's own mixin picks its
/// instances with `label_values(node_exporter_build_info{job=...}, instance)`. node_exporter's label names;
/// `version` is hostlens', `goversion` the Rust compiler's (`rust1.95.0`). And `hostlens_build_info`.
fn build_info(own: &mut MetricSet) {
    let version = env!("CARGO_PKG_VERSION");
    let revision = env!("HOSTLENS_REVISION");
    let rustc = env!("HOSTLENS_RUSTC_VERSION");
    own.gauge(
        "node_exporter_build_info",
        "A metric with a constant '1' value labeled by version, revision, branch, goversion from which \
         node_exporter was built, and the goos and goarch for the build. Served by hostlens for \
         compatibility with node_exporter's dashboards: version is hostlens', goversion the Rust compiler's.",
        &[
            ("branch", ""),
            ("goarch", goarch()),
            ("goos", std::env::consts::OS),
            ("goversion", rustc),
            ("revision", revision),
            ("tags", "unknown"),
            ("version", version),
        ],
        1.0,
    );
    own.gauge(
        "hostlens_build_info",
        "A metric with a constant '1' value labeled by version, revision, the Rust compiler's version and \
         target.",
        &[
            ("version", version),
            ("revision", revision),
            ("rustc", rustc),
            ("target_arch", std::env::consts::ARCH),
        ],
        1.0,
    );
}

/// Add what the gather step dropped to each collector's count, and log it when it changes (once, not on
/// every scrape), naming the collector, the family and why.
fn count_dropped(slots: &[Arc<Slot>], g: &Gathered) {
    for slot in slots {
        let name = slot.collector.name();
        let mine: Vec<_> = g.dropped.iter().filter(|d| d.collector == name).collect();
        let n = g.dropped_for(name);
        slot.dropped.fetch_add(n as u64, Ordering::Relaxed);
        let Ok(mut last) = slot.last_dropped.lock() else {
            continue;
        };
        let summary = (n > 0).then(|| {
            mine.iter()
                .map(|d| match &d.reason {
                    DropReason::Duplicate => {
                        format!("{} sample(s) of {} collected before", d.samples, d.family)
                    }
                    DropReason::Inconsistent(why) => {
                        format!("{} sample(s) of {}: {why}", d.samples, d.family)
                    }
                })
                .collect::<Vec<_>>()
                .join("; ")
        });
        if summary != *last {
            if let Some(s) = &summary {
                tracing::warn!(
                    collector = name,
                    "dropped samples that would break the exposition (kept the first): {s}"
                );
            }
            *last = summary;
        }
    }
}

/// `hostlens_scrape_collector_dropped_samples_total` for every collector that ever lost a sample in the
/// gather step.
fn dropped_metrics(out: &mut MetricSet, slots: &[Arc<Slot>]) {
    for slot in slots {
        let n = slot.dropped.load(Ordering::Relaxed);
        if n > 0 {
            out.counter(
                "hostlens_scrape_collector_dropped_samples_total",
                "hostlens: samples of a collector dropped because their name and labels were collected \
                 before, or their family contradicts an earlier one (the first is kept; the log says which).",
                &[("collector", slot.collector.name()), ("family", slot.family)],
                n as f64,
            );
        }
    }
}

/// Run one collector on the calling (blocking) thread, unless its previous run has not returned yet.
fn run_slot(slot: &Slot) -> (Outcome, MetricSet) {
    let start = Instant::now();
    let name = slot.collector.name();
    let outcome = |result: Result<(), String>, no_data: bool| Outcome {
        name,
        family: slot.family,
        duration: start.elapsed(),
        result,
        no_data,
    };
    if slot.busy.swap(true, Ordering::AcqRel) {
        return (
            outcome(
                Err(
                    "the previous collection has not returned yet (hung in the kernel?); skipped"
                        .into(),
                ),
                false,
            ),
            MetricSet::new(),
        );
    }
    let mut out = MetricSet::new();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        slot.collector.collect(&mut out)
    }));
    slot.busy.store(false, Ordering::Release);
    match r {
        Ok(Ok(())) => (outcome(Ok(()), false), out),
        // What it collected before the error is kept, as node_exporter keeps what a collector sent.
        Ok(Err(e)) => {
            let no_data = e.is_no_data();
            (outcome(Err(e.to_string()), no_data), out)
        }
        Err(_) => (
            outcome(Err("collector panicked".into()), false),
            MetricSet::new(),
        ),
    }
}

/// Log a collector's failure when it starts or changes, and its recovery; not on every scrape.
fn log_change(slot: &Slot, o: &Outcome) {
    let Ok(mut last) = slot.last_error.lock() else {
        return;
    };
    match (&o.result, last.as_deref()) {
        (Ok(()), Some(_)) => {
            tracing::info!(collector = o.name, "collector recovered");
            *last = None;
        }
        (Err(e), prev) if prev != Some(e.as_str()) => {
            if o.no_data {
                tracing::debug!(collector = o.name, "no data on this host: {e}");
            } else {
                tracing::warn!(collector = o.name, "collector failed: {e}");
            }
            *last = Some(e.clone());
        }
        _ => {}
    }
}

/// `hostlens_scrape_collector_*` for every collector, and node_exporter's own `node_scrape_collector_*` for the
/// node family, so the dashboards that watch node_exporter's collectors keep working.
fn scrape_metrics(out: &mut MetricSet, outcomes: &[Outcome]) {
    for o in outcomes {
        let ok = if o.result.is_ok() { 1.0 } else { 0.0 };
        let secs = o.duration.as_secs_f64();
        let labels = [("collector", o.name)];
        out.gauge(
            "hostlens_scrape_collector_success",
            "hostlens: whether a collector succeeded (0 also when it had no data on this host).",
            &[("collector", o.name), ("family", o.family)],
            ok,
        );
        out.gauge(
            "hostlens_scrape_collector_duration_seconds",
            "hostlens: duration of a collector scrape.",
            &[("collector", o.name), ("family", o.family)],
            secs,
        );
        if o.family == "node" {
            out.gauge(
                "node_scrape_collector_duration_seconds",
                "node_exporter: Duration of a collector scrape.",
                &labels,
                secs,
            );
            out.gauge(
                "node_scrape_collector_success",
                "node_exporter: Whether a collector succeeded.",
                &labels,
                ok,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hostlens_collectors::CollectError;
    use std::sync::mpsc;

    /// Blocks in `collect` until the test releases it (a hung NFS mount, without a sleep).
    struct Blocked {
        release: Mutex<mpsc::Receiver<()>>,
    }
    impl Collector for Blocked {
        fn name(&self) -> &'static str {
            "blocked"
        }
        fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
            if let Ok(rx) = self.release.lock() {
                let _ = rx.recv();
            }
            out.gauge("blocked_done", "Done.", &[], 1.0);
            Ok(())
        }
    }

    struct Fine;
    impl Collector for Fine {
        fn name(&self) -> &'static str {
            "fine"
        }
        fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
            out.gauge("fine_value", "Fine.", &[], 42.0);
            out.gauge("node_load1", "1m load average.", &[], 0.5);
            Ok(())
        }
    }

    struct Panicky;
    impl Collector for Panicky {
        fn name(&self) -> &'static str {
            "panicky"
        }
        fn collect(&self, _: &mut MetricSet) -> Result<(), CollectError> {
            panic!("a bug in a collector");
        }
    }

    struct Empty;
    impl Collector for Empty {
        fn name(&self) -> &'static str {
            "empty"
        }
        fn collect(&self, _: &mut MetricSet) -> Result<(), CollectError> {
            Err(CollectError::NoData("nothing here".into()))
        }
    }

    /// Sends some series, then fails (one hwmon chip of several unreadable).
    struct Partial;
    impl Collector for Partial {
        fn name(&self) -> &'static str {
            "partial"
        }
        fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
            out.gauge(
                "partial_ok",
                "Read before the error.",
                &[("chip", "a")],
                1.0,
            );
            Err(CollectError::Other("chip b: read error".into()))
        }
    }

    /// Repeats a series another collector has (a textfile holding node_load1).
    struct Repeats;
    impl Collector for Repeats {
        fn name(&self) -> &'static str {
            "repeats"
        }
        fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
            out.gauge("node_load1", "1m load average.", &[], 42.0);
            Ok(())
        }
    }

    async fn bounded<F: std::future::Future>(f: F) -> F::Output {
        tokio::time::timeout(Duration::from_secs(30), f)
            .await
            .expect("the scrape waited for a hung collector")
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_collector_times_out_and_the_rest_still_serve() {
        let (release, rx) = mpsc::channel();
        // Long enough for a panic to print its backtrace (RUST_BACKTRACE=1 in a debug build takes ~0.5 s).
        let mut s = Scraper::new(Duration::from_secs(2));
        s.add("node", Box::new(Fine));
        s.add(
            "node",
            Box::new(Blocked {
                release: Mutex::new(rx),
            }),
        );
        s.add("node", Box::new(Panicky));
        s.add("node", Box::new(Empty));
        let first = bounded(s.scrape()).await;
        assert!(first.text.contains("fine_value 42"));
        assert!(!first.text.contains("blocked_done"));
        for (c, ok) in [("blocked", 0), ("fine", 1), ("empty", 0), ("panicky", 0)] {
            let line = format!("node_scrape_collector_success{{collector=\"{c}\"}} {ok}\n");
            assert!(first.text.contains(&line), "{line}");
        }
        let panicky = first.outcomes.iter().find(|o| o.name == "panicky").unwrap();
        let err = panicky.result.as_ref().unwrap_err();
        assert!(err.contains("panicked"), "{err}");
        let empty = first.outcomes.iter().find(|o| o.name == "empty").unwrap();
        assert!(empty.no_data);
        let blocked = first.outcomes.iter().find(|o| o.name == "blocked").unwrap();
        assert!(blocked.result.as_ref().unwrap_err().contains("timed out"));
        // While the first collection still hangs, the next scrape skips it instead of starting another thread.
        let second = bounded(s.scrape()).await;
        let blocked = second
            .outcomes
            .iter()
            .find(|o| o.name == "blocked")
            .unwrap();
        assert!(blocked
            .result
            .as_ref()
            .unwrap_err()
            .contains("has not returned"));
        // Once it returns, it is collected again.
        release.send(()).unwrap();
        release.send(()).unwrap();
        let slot = s.slots[1].clone();
        let deadline = Instant::now() + Duration::from_secs(30);
        while slot.busy.load(Ordering::Acquire) {
            assert!(
                Instant::now() < deadline,
                "the released collector never returned"
            );
            tokio::task::yield_now().await;
        }
        let third = bounded(s.scrape()).await;
        assert!(third.text.contains("blocked_done 1"), "{}", third.text);
    }

    #[tokio::test]
    async fn keeps_partial_results_and_drops_repeated_series() {
        let mut s = Scraper::new(Duration::from_secs(30));
        s.add("node", Box::new(Fine));
        s.add("node", Box::new(Partial));
        s.add("node", Box::new(Repeats));
        let text = s.scrape().await.text;
        assert!(text.contains("partial_ok{chip=\"a\"} 1\n"), "{text}");
        assert!(text.contains("node_scrape_collector_success{collector=\"partial\"} 0\n"));
        // The first node_load1 (loadavg's, here Fine's) is kept; the repeat is dropped and counted.
        assert_eq!(text.matches("\nnode_load1 ").count(), 1, "{text}");
        assert!(text.contains("\nnode_load1 0.5\n"));
        let counted = "hostlens_scrape_collector_dropped_samples_total{collector=\"repeats\",family=\"node\"} 1\n";
        assert!(text.contains(counted), "{text}");
        let again = s.scrape().await.text;
        assert!(again.contains(&counted.replace("} 1", "} 2")), "{again}");
    }

    #[tokio::test]
    async fn collect_and_exclude_select_collectors_as_node_exporter() {
        let mut s = Scraper::new(Duration::from_secs(30));
        s.add("node", Box::new(Fine));
        s.add("node", Box::new(Empty));
        s.add("node", Box::new(Partial));
        let v = |x: &[&str]| x.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(s.select(&[], &[]), Ok(vec![0, 1, 2]));
        assert_eq!(s.select(&v(&["partial", "fine"]), &[]), Ok(vec![0, 2]));
        assert_eq!(s.select(&[], &v(&["empty"])), Ok(vec![0, 2]));
        assert!(s
            .select(&v(&["nope"]), &[])
            .unwrap_err()
            .contains("missing collector: nope"));
        assert!(s
            .select(&v(&["fine"]), &v(&["empty"]))
            .unwrap_err()
            .contains("Combined collect and exclude"));
        let only = s.scrape_selected(&[2]).await.text;
        assert!(only.contains("partial_ok"));
        assert!(!only.contains("fine_value"));
        assert!(!only.contains("collector=\"fine\""));
        // The agent's own series are served whatever the selection, as node_exporter's are.
        assert!(only.contains("hostlens_build_info{"));
        // node_exporter's mixin finds its instances by node_exporter_build_info: node_exporter's label names,
        // hostlens' version.
        let line = only
            .lines()
            .find(|l| l.starts_with("node_exporter_build_info{"))
            .expect("node_exporter_build_info is served");
        assert!(
            line.starts_with("node_exporter_build_info{branch=\"\",goarch=\"")
                && line.contains(",goos=\"linux\",goversion=\"rust")
                && line.contains(&format!(",version=\"{}\"}} 1", env!("CARGO_PKG_VERSION"))),
            "{line}"
        );
    }

    #[tokio::test]
    async fn the_exposition_is_sorted_as_client_golang_sorts_it() {
        let mut s = Scraper::new(Duration::from_secs(30));
        s.add("node", Box::new(Partial));
        s.add("node", Box::new(Fine));
        let text = s.scrape().await.text;
        let names: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split(' ').next())
            .collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        assert_eq!(names, sorted);
    }
}
