//! Scrape-time collection: every enabled collector runs on a blocking thread under a time bound; a collector
//! that fails or hangs is reported with `*_scrape_collector_success 0` and the others still serve.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hostlens_collectors::{Collector, MetricSet};

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
        }
    }

    pub fn add(&mut self, family: &'static str, collector: Box<dyn Collector>) {
        self.slots.push(Arc::new(Slot {
            family,
            collector: Arc::from(collector),
            busy: Arc::new(AtomicBool::new(false)),
            last_error: Mutex::new(None),
        }));
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
    async fn run_all(&self) -> Vec<(Outcome, MetricSet)> {
        let n = self.slots.len();
        let (a, b): (Vec<usize>, Vec<usize>) = if self.parallel {
            (0..n).partition(|i| i % 2 == 0)
        } else {
            ((0..n).collect(), Vec::new())
        };
        let (ra, rb) = tokio::join!(self.run_queue(a), self.run_queue(b));
        let mut all: Vec<(usize, Outcome, MetricSet)> = ra.into_iter().chain(rb).collect();
        all.sort_by_key(|(i, _, _)| *i);
        all.into_iter().map(|(_, o, m)| (o, m)).collect()
    }

    /// Run every collector and encode the result.
    pub async fn scrape(&self) -> Scrape {
        let _guard = self.lock.lock().await;
        let mut all = MetricSet::new();
        let mut outcomes = Vec::with_capacity(self.slots.len());
        for ((outcome, set), slot) in self.run_all().await.into_iter().zip(&self.slots) {
            log_change(slot, &outcome);
            all.extend(set);
            outcomes.push(outcome);
        }
        scrape_metrics(&mut all, &outcomes);
        if let Err(e) = hostlens_collectors::process::collect_self(&mut all) {
            tracing::warn!("process metrics: {e}");
        }
        all.gauge(
            "hostlens_build_info",
            "A metric with a constant '1' value labeled by version and the Rust compiler's target.",
            &[
                ("version", env!("CARGO_PKG_VERSION")),
                ("target_arch", std::env::consts::ARCH),
            ],
            1.0,
        );
        let text = hostlens_collectors::encode::encode_text(all.into_families())
            .unwrap_or_else(|e| format!("# encoding failed: {e}\n"));
        Scrape { text, outcomes }
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
        Ok(Err(e)) => {
            let no_data = e.is_no_data();
            (outcome(Err(e.to_string()), no_data), MetricSet::new())
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

    struct Sleepy(Duration);
    impl Collector for Sleepy {
        fn name(&self) -> &'static str {
            "sleepy"
        }
        fn collect(&self, out: &mut MetricSet) -> Result<(), CollectError> {
            std::thread::sleep(self.0);
            out.gauge("sleepy_done", "Done.", &[], 1.0);
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

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hung_collector_times_out_and_the_rest_still_serve() {
        let mut s = Scraper::new(Duration::from_millis(200));
        s.add("node", Box::new(Fine));
        s.add("node", Box::new(Sleepy(Duration::from_millis(1500))));
        s.add("node", Box::new(Panicky));
        s.add("node", Box::new(Empty));
        let t = Instant::now();
        let first = s.scrape().await;
        assert!(
            t.elapsed() < Duration::from_millis(1000),
            "scrape waited for the hung collector"
        );
        assert!(first.text.contains("fine_value 42"));
        assert!(!first.text.contains("sleepy_done"));
        assert!(first
            .text
            .contains("node_scrape_collector_success{collector=\"sleepy\"} 0"));
        assert!(first
            .text
            .contains("node_scrape_collector_success{collector=\"fine\"} 1"));
        assert!(first
            .text
            .contains("node_scrape_collector_success{collector=\"empty\"} 0"));
        assert!(first
            .text
            .contains("node_scrape_collector_success{collector=\"panicky\"} 0"));
        let panicky = first.outcomes.iter().find(|o| o.name == "panicky").unwrap();
        assert!(panicky.result.as_ref().unwrap_err().contains("panicked"));
        let empty = first.outcomes.iter().find(|o| o.name == "empty").unwrap();
        assert!(empty.no_data);
        // While the first collection still hangs, the next scrape skips it instead of starting another thread.
        let second = s.scrape().await;
        let sleepy = second.outcomes.iter().find(|o| o.name == "sleepy").unwrap();
        assert!(sleepy
            .result
            .as_ref()
            .unwrap_err()
            .contains("has not returned"));
        // Once it returns, it is collected again.
        tokio::time::sleep(Duration::from_millis(1600)).await;
        let mut s2 = s;
        s2.timeout = Duration::from_secs(5);
        let third = s2.scrape().await;
        assert!(third.text.contains("sleepy_done 1"));
    }
}
