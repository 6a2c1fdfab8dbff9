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

    /// The threads for a configured count (`pipeline.stage_workers`): 0 means one per core.
    pub fn workers_for(configured: usize) -> NonZeroUsize {
        NonZeroUsize::new(configured).unwrap_or_else(Self::default_workers)
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
        self.run_all(vec![job]).pop().expect("one receiver per job")
    }

    /// Run `jobs`, split into at most one chunk per thread (and at most [`MAX_CHUNK`] jobs
    /// each). A chunk runs its jobs in order on one thread and answers them all when it ends,
    /// so a burst of stories costs a few thread wake-ups, and a few of the waiting task,
    /// instead of one of each per story: on a small machine those wake-ups cost more CPU
    /// than the stages. The receivers are in the order of `jobs`.
    pub fn run_all<T, F>(&self, jobs: Vec<F>) -> Vec<oneshot::Receiver<Result<T, Panicked>>>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let per_chunk = jobs
            .len()
            .div_ceil(self.threads.len().max(1))
            .clamp(1, MAX_CHUNK);
        let mut receivers = Vec::with_capacity(jobs.len());
        let mut jobs = jobs.into_iter().peekable();
        while jobs.peek().is_some() {
            let mut chunk = Vec::with_capacity(per_chunk);
            for job in jobs.by_ref().take(per_chunk) {
                let (tx, rx) = oneshot::channel();
                chunk.push((job, tx));
                receivers.push(rx);
            }
            let job: Job = Box::new(move || {
                let answers: Vec<_> = chunk
                    .into_iter()
                    .map(|(job, tx)| (catch_unwind(AssertUnwindSafe(job)).map_err(panicked), tx))
                    .collect();
                for (result, tx) in answers {
                    // The caller may have stopped waiting (shutdown): nothing to do then.
                    let _ = tx.send(result);
                }
            });
            if let Some(queue) = &self.queue {
                // Sending fails only when every thread has exited, which they do only on
                // drop; the caller then sees closed channels.
                let _ = queue.send(job);
            }
        }
        receivers
    }
}

/// The most jobs one chunk of [`StagePool::run_all`] holds: at about 25 µs a story, the
/// first story of a full chunk waits under a millisecond for the rest.
pub const MAX_CHUNK: usize = 32;

fn panicked(panic: Box<dyn std::any::Any + Send>) -> Panicked {
    Panicked(panic_text(&*panic))
}

/// The message a panic was raised with, when it has one.
pub fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
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

    #[tokio::test]
    async fn a_batch_answers_every_job_in_order_and_keeps_panics_to_their_job() {
        let pool = StagePool::new(NonZeroUsize::new(2).unwrap(), "test").unwrap();
        for n in [0usize, 1, 2, 3, 63, 64, 65, 200] {
            let jobs: Vec<_> = (0..n)
                .map(|i| {
                    move || {
                        if i % 17 == 5 {
                            panic!("job {i}");
                        }
                        i * 3
                    }
                })
                .collect();
            let receivers = pool.run_all(jobs);
            assert_eq!(receivers.len(), n);
            let mut ordered: FuturesOrdered<_> = receivers.into_iter().collect();
            let mut i = 0;
            while let Some(r) = ordered.next().await {
                let expected = if i % 17 == 5 {
                    Err(Panicked(format!("job {i}")))
                } else {
                    Ok(i * 3)
                };
                assert_eq!(r.unwrap(), expected, "batch of {n}, job {i}");
                i += 1;
            }
            assert_eq!(i, n);
        }
    }

    /// One thread, a job that waits for the test: what has answered shows where the chunks
    /// begin and end.
    #[tokio::test]
    async fn a_chunk_answers_when_it_ends_and_holds_at_most_max_chunk_jobs() {
        let pool = StagePool::new(NonZeroUsize::MIN, "test").unwrap();
        for block_at in [1, MAX_CHUNK] {
            let (open, gate) = std::sync::mpsc::channel::<()>();
            let gate = Arc::new(Mutex::new(gate));
            let jobs: Vec<_> = (0..MAX_CHUNK + 5)
                .map(|i| {
                    let gate = gate.clone();
                    move || {
                        if i == block_at {
                            gate.lock().unwrap().recv().unwrap();
                        }
                        i
                    }
                })
                .collect();
            let mut receivers = pool.run_all(jobs);
            // Everything in chunks before the waiting job's has answered.
            let first_of_waiting_chunk = block_at / MAX_CHUNK * MAX_CHUNK;
            for (i, rx) in receivers
                .iter_mut()
                .enumerate()
                .take(first_of_waiting_chunk)
            {
                assert_eq!(rx.await.unwrap(), Ok(i));
            }
            // The waiting job's chunk holds its answers, including those of jobs already run.
            std::thread::sleep(std::time::Duration::from_millis(50));
            for rx in &mut receivers[first_of_waiting_chunk..] {
                assert!(rx.try_recv().is_err(), "answered before its chunk ended");
            }
            open.send(()).unwrap();
            for (i, rx) in receivers
                .into_iter()
                .enumerate()
                .skip(first_of_waiting_chunk)
            {
                assert_eq!(rx.await.unwrap(), Ok(i));
            }
        }
    }
}
