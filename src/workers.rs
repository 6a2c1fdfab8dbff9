//! A fixed pool of threads for the stateless stages, so decoding, normalising and tagging use
//! every core while the service loop keeps the one stateful step (dedup) and all Kafka work.
//!
//! Jobs go into one shared queue (a slow story does not hold up a thread's backlog while
//! another idles) and each answers on its own oneshot channel, so a caller that keeps the
//! receivers in submission order (`FuturesOrdered`) gets results in input order.

use std::num::NonZeroUsize;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use tokio::sync::oneshot;

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Threads that run closures and hand back their results.
pub struct StagePool {
    queue: Option<mpsc::Sender<Job>>,
    threads: Vec<JoinHandle<()>>,
}

/// A job panicked; the message is the panic's, when it carried text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stage panicked: {0}")]
pub struct Panicked(pub String);

impl StagePool {
    /// Start `workers` threads named `{name}-{i}`.
    pub fn new(workers: NonZeroUsize, name: &str) -> std::io::Result<Self> {
        let (queue, jobs) = mpsc::channel::<Job>();
        let jobs = Arc::new(Mutex::new(jobs));
        let mut threads = Vec::with_capacity(workers.get());
        for i in 0..workers.get() {
            let jobs = jobs.clone();
            threads.push(
                std::thread::Builder::new()
                    .name(format!("{name}-{i}"))
                    .spawn(move || loop {
                        // The lock is held only while taking a job, never while running one.
                        let job = match jobs.lock() {
                            Ok(rx) => rx.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    })?,
            );
        }
        Ok(StagePool {
            queue: Some(queue),
            threads,
        })
    }

    /// One thread per available core.
    pub fn default_workers() -> NonZeroUsize {
        std::thread::available_parallelism().unwrap_or(NonZeroUsize::MIN)
    }

    pub fn workers(&self) -> usize {
        self.threads.len()
    }

    /// Run `job` on a pool thread. A panic in the job becomes [`Panicked`] instead of taking
    /// the thread (or the service) down: one bad story must not stop the others.
    pub fn run<T, F>(&self, job: F) -> oneshot::Receiver<Result<T, Panicked>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let result = catch_unwind(AssertUnwindSafe(job)).map_err(|panic| {
                let text = panic
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| panic.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "no message".into());
                Panicked(text)
            });
            // The caller may have stopped waiting (shutdown): nothing to do then.
            let _ = tx.send(result);
        });
        if let Some(queue) = &self.queue {
            // Sending fails only when every thread has exited, which they do only on drop;
            // the caller then sees a closed channel.
            let _ = queue.send(job);
        }
        rx
    }
}

impl Drop for StagePool {
    fn drop(&mut self) {
        // Closing the queue lets each thread finish its job and exit.
        self.queue.take();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream::{FuturesOrdered, StreamExt};

    #[tokio::test]
    async fn results_come_back_in_submission_order() {
        let pool = StagePool::new(NonZeroUsize::new(3).unwrap(), "test").unwrap();
        let mut ordered = FuturesOrdered::new();
        for i in 0..200u64 {
            ordered.push_back(pool.run(move || {
                // Uneven work, so threads finish out of order.
                let spin = (i * 7919) % 5000;
                (0..spin).fold(i, |a, b| a.wrapping_add(b)) - (0..spin).sum::<u64>()
            }));
        }
        let mut got = Vec::new();
        while let Some(r) = ordered.next().await {
            got.push(r.unwrap().unwrap());
        }
        assert_eq!(got, (0..200).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_panicking_job_is_reported_and_the_pool_keeps_working() {
        let pool = StagePool::new(NonZeroUsize::MIN, "test").unwrap();
        let bad = pool.run(|| -> u32 { panic!("bad story") }).await.unwrap();
        assert_eq!(bad, Err(Panicked("bad story".into())));
        let good = pool.run(|| 7).await.unwrap();
        assert_eq!(good, Ok(7));
        assert_eq!(pool.workers(), 1);
    }
}
