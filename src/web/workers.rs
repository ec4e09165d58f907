//! The runtime that queries and draws, apart from the one that accepts connections.
//!
//! DataFusion plans and charts are CPU work that holds a tokio worker until it yields.
//! On the runtime that also accepts connections, a flood of uncached panel requests
//! keeps every worker busy and `/healthz` or a sign-in waits behind them (measured:
//! p99 140 ms under 64 connections on 2 cores). Run on a runtime of their own, they
//! compete with the acceptor only for the cores, where the kernel's scheduler keeps the
//! acceptor's short wake-ups prompt. DataFusion's own `thread_pools` example separates
//! CPU and I/O work the same way.

use std::future::Future;

use tokio::runtime::{Builder, Handle, Runtime};

/// A multi-thread runtime for expensive requests, one worker per core.
pub struct Workers {
    runtime: Option<Runtime>,
}

impl Workers {
    pub fn new() -> std::io::Result<Workers> {
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads)
            .thread_name("ako-worker")
            .enable_all()
            .build()?;
        Ok(Workers {
            runtime: Some(runtime),
        })
    }

    fn handle(&self) -> &Handle {
        self.runtime.as_ref().expect("present until drop").handle()
    }

    /// Starts `work` on the workers without waiting for it.
    pub fn spawn<F>(&self, work: F) -> tokio::task::JoinHandle<F::Output>
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        self.handle().spawn(work)
    }

    /// Runs `work` on the workers and waits for it from the caller's runtime. A panic in
    /// `work` is raised again here, as if it had run in place.
    pub async fn run<F>(&self, work: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        match self.spawn(work).await {
            Ok(out) => out,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            // Cancelled only when the runtime shuts down, which happens after the
            // server has stopped taking requests.
            Err(e) => panic!("worker runtime stopped under a request: {e}"),
        }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        // The state may be dropped inside another runtime (a test, `serve` returning),
        // where a blocking shutdown would panic.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_runs_on_the_worker_threads_and_returns_its_value() {
        let workers = Workers::new().unwrap();
        let name = workers
            .run(async { std::thread::current().name().map(String::from) })
            .await;
        assert_eq!(name.as_deref(), Some("ako-worker"));
        assert_eq!(workers.run(async { 6 * 7 }).await, 42);
    }

    #[tokio::test]
    #[should_panic(expected = "boom")]
    async fn a_panic_in_work_reaches_the_caller() {
        let workers = Workers::new().unwrap();
        workers.run(async { panic!("boom") }).await
    }
}
