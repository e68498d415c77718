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

/// The collectors of the agent.
pub struct Scraper {
    slots: Vec<Arc<Slot>>,
    timeout: Duration,
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

    /// Run every collector, one after the other on one blocking worker thread (the cheapest way: no thread
    /// hand-off per collector, one malloc arena), each under the time bound. When a collector overruns, the
    /// scrape records it as timed out, tells that worker to stop after it, and goes on with the remaining
    /// collectors on a fresh worker; the hung collector keeps its `busy` flag until it returns.
    async fn run_all(&self) -> Vec<(Outcome, MetricSet)> {
        let n = self.slots.len();
        let mut results: Vec<Option<(Outcome, MetricSet)>> = (0..n).map(|_| None).collect();
        let mut pending: std::collections::VecDeque<usize> = (0..n).collect();
        while let Some(&first) = pending.front() {
            let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
            let stop = Arc::new(AtomicBool::new(false));
            let jobs: Vec<(usize, Arc<Slot>)> =
                pending.iter().map(|&i| (i, self.slots[i].clone())).collect();
            let worker_stop = stop.clone();
            let worker = tokio::task::spawn_blocking(move || {
                for (i, slot) in jobs {
                    if worker_stop.load(Ordering::Acquire) {
                        return;
                    }
                    if tx.send((i, run_slot(&slot))).is_err() {
                        return;
                    }
                }
            });
            let mut started = Instant::now();
            loop {
                match tokio::time::timeout(self.timeout, rx.recv()).await {
                    Ok(Some((i, r))) => {
                        pending.retain(|&p| p != i);
                        results[i] = Some(r);
                        started = Instant::now();
                    }
                    Ok(None) => break,
                    Err(_) => {
                        // The collector at the head of the queue is the one the worker is stuck in.
                        stop.store(true, Ordering::Release);
                        if let Some(hung) = pending.pop_front() {
                            let slot = &self.slots[hung];
                            results[hung] = Some((
                                Outcome {
                                    name: slot.collector.name(),
                                    family: slot.family,
                                    duration: started.elapsed(),
                                    result: Err(format!(
                                        "timed out after {:?}; still running in the background",
                                        self.timeout
                                    )),
                                    no_data: false,
                                },
                                MetricSet::new(),
                            ));
                        }
                        break;
                    }
                }
            }
            drop(worker);
            // A worker that ended without reporting its head collector (it cannot: panics are caught) would
            // loop here forever; make progress regardless.
            if pending.front() == Some(&first) && results[first].is_none() {
                if let Some(i) = pending.pop_front() {
                    let slot = &self.slots[i];
                    results[i] = Some((
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
        results.into_iter().flatten().collect()
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
                Err("the previous collection has not returned yet (hung in the kernel?); skipped".into()),
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
        Err(_) => (outcome(Err("collector panicked".into()), false), MetricSet::new()),
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
        assert!(first.text.contains("node_scrape_collector_success{collector=\"panicky\"} 0"));
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
