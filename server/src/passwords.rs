//! Password hashing: argon2id with the OWASP parameters (m = 19 MiB, t = 2, p = 1), PHC
//! strings, always on blocking threads and with a bound on concurrent hashes so that
//! sign-in floods cannot starve other requests.

use crate::env::Random;
use app::Secret;
use argon2::{
    password_hash::{PasswordHash, PasswordHasher as _, SaltString},
    Algorithm, Argon2, Params, Version,
};
use std::sync::Arc;
use tokio::sync::Semaphore;

#[derive(Debug, thiserror::Error)]
pub enum HashError {
    #[error("password hashing failed: {0}")]
    Hash(String),
    #[error("the hashing task failed")]
    Join,
    /// More attempts are waiting for a hashing thread than the queue allows: refused at
    /// once instead of piling up.
    #[error("too many password checks are waiting")]
    Busy,
}

/// How many password checks may wait for a hashing thread, beyond those running. Past
/// this, attempts are refused at once ("try again in a moment"): a flood cannot build a
/// queue that makes every sign-in wait.
pub const DEFAULT_MAX_WAITING: usize = 64;

#[derive(Clone)]
pub struct Passwords {
    params: Params,
    /// Verified against when the email is unknown, so that costs the same time.
    dummy_hash: Arc<str>,
    permits: Arc<Semaphore>,
    /// Running plus waiting checks; taken without waiting (see [`DEFAULT_MAX_WAITING`]).
    queue: Arc<Semaphore>,
    rng: Arc<dyn Random>,
    pool: Arc<HashPool>,
    /// Hashing threads (the running checks' limit) and the queue's size with them.
    concurrency: usize,
    capacity: usize,
    /// Where each hash's time goes (the metrics), if anywhere.
    timings: Option<prometheus_client::metrics::histogram::Histogram>,
}

type Job = Box<dyn FnOnce() + Send>;

thread_local! {
    /// Each hashing thread's argon2 working memory, allocated once and reused: freeing
    /// and reallocating 19 MiB per sign-in fragmented the allocator's arenas (peak RSS
    /// 236 MB under sign-in load, 63 MB with this).
    static BLOCKS: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Verifies `password` against a PHC string (argon2id), in constant time, using this
/// thread's reusable working memory. Anything malformed is a mismatch.
fn verify_reusing_memory(phc: &str, password: &[u8]) -> bool {
    use argon2::password_hash::Output;
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let (Ok(algorithm), Ok(params), Some(salt), Some(expected)) = (
        Algorithm::try_from(parsed.algorithm),
        Params::try_from(&parsed),
        parsed.salt,
        parsed.hash,
    ) else {
        return false;
    };
    let version = parsed
        .version
        .and_then(|v| Version::try_from(v).ok())
        .unwrap_or(Version::V0x13);
    let mut salt_buf = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_buf) else {
        return false;
    };
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    let computed = BLOCKS.with(|cell| {
        let mut blocks = cell.borrow_mut();
        if blocks.len() < params.block_count() {
            blocks.resize(params.block_count(), argon2::Block::default());
        }
        let needed = params.block_count();
        argon2.hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..needed])
    });
    computed.is_ok() && Output::new(&out).is_ok_and(|o| o == expected)
}

/// A PHC string with the real parameters, a random salt and a random output: verifying
/// any password against it runs the full argon2id computation and fails. Built without
/// hashing, so starting the portal costs no 19 MiB hash (and no memory kept from it).
fn dummy_phc(rng: &dyn Random, params: &Params) -> Result<String, HashError> {
    use argon2::password_hash::Output;
    let (mut salt, mut output) = ([0u8; 16], [0u8; Params::DEFAULT_OUTPUT_LEN]);
    rng.fill(&mut salt);
    rng.fill(&mut output);
    let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Hash(e.to_string()))?;
    let output = Output::new(&output).map_err(|e| HashError::Hash(e.to_string()))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${output}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str()
    ))
}

/// A fixed set of threads, one per core, that run every hash. Each argon2id hash takes
/// 19 MiB; on tokio's growing blocking pool every new thread kept its own allocator arena
/// of that size, and peak memory climbed past 400 MB under sign-in load. With a fixed set
/// it stays at about threads × 19 MiB.
struct HashPool {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

impl HashPool {
    fn new(threads: usize) -> Self {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..threads {
            let rx = rx.clone();
            let _ = std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || loop {
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return, // the portal is shutting down
                    }
                });
        }
        Self {
            jobs: std::sync::Mutex::new(tx),
        }
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = tx.send(work());
        });
        self.jobs
            .lock()
            .map_err(|_| HashError::Join)?
            .send(job)
            .map_err(|_| HashError::Join)?;
        rx.await.map_err(|_| HashError::Join)
    }
}

impl std::fmt::Debug for Passwords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Passwords").finish_non_exhaustive()
    }
}

/// OWASP Password Storage Cheat Sheet: argon2id, 19 MiB, 2 iterations, 1 lane.
pub fn owasp_params() -> Params {
    Params::new(19_456, 2, 1, None).unwrap_or_default()
}

/// The hasher with the production parameters (for tools such as the benchmark).
pub fn owasp_argon2() -> Argon2<'static> {
    Argon2::new(Algorithm::Argon2id, Version::V0x13, owasp_params())
}

impl Passwords {
    pub fn new(rng: Arc<dyn Random>, params: Params) -> Result<Self, HashError> {
        let concurrency = std::thread::available_parallelism().map_or(2, |n| n.get());
        Self::with_limits(rng, params, concurrency, DEFAULT_MAX_WAITING)
    }

    /// A hasher with `concurrency` hashing threads and at most `max_waiting` checks
    /// waiting for one.
    pub fn with_limits(
        rng: Arc<dyn Random>,
        params: Params,
        concurrency: usize,
        max_waiting: usize,
    ) -> Result<Self, HashError> {
        let concurrency = concurrency.max(1);
        let mut this = Self {
            params,
            dummy_hash: Arc::from(""),
            permits: Arc::new(Semaphore::new(concurrency)),
            queue: Arc::new(Semaphore::new(concurrency + max_waiting)),
            rng,
            pool: Arc::new(HashPool::new(concurrency)),
            concurrency,
            capacity: concurrency + max_waiting,
            timings: None,
        };
        this.dummy_hash = Arc::from(dummy_phc(this.rng.as_ref(), &this.params)?);
        Ok(this)
    }

    /// Records each hash's time in `histogram`.
    pub fn timed_by(mut self, histogram: prometheus_client::metrics::histogram::Histogram) -> Self {
        self.timings = Some(histogram);
        self
    }

    /// Checks running on a hashing thread, and checks waiting for one.
    pub fn queue_counts(&self) -> (usize, usize) {
        let running = self
            .concurrency
            .saturating_sub(self.permits.available_permits());
        let queued = self.capacity.saturating_sub(self.queue.available_permits());
        (running, queued.saturating_sub(running))
    }

    /// Runs one hash on a hashing thread, timed.
    async fn timed<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, HashError> {
        let started = std::time::Instant::now();
        let out = self.pool.run(work).await;
        if let Some(h) = &self.timings {
            h.observe(started.elapsed().as_secs_f64());
        }
        out
    }

    fn argon2(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    fn hash_blocking(&self, password: &str) -> Result<String, HashError> {
        let mut salt = [0u8; 16];
        self.rng.fill(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| HashError::Hash(e.to_string()))?;
        self.argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HashError::Hash(e.to_string()))
    }

    /// Hashes a password into a PHC string, off the async threads.
    pub async fn hash(&self, password: &Secret) -> Result<String, HashError> {
        let _place = self.queue.try_acquire().map_err(|_| HashError::Busy)?;
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Join)?;
        let this = self.clone();
        let password = password.clone();
        self.timed(move || this.hash_blocking(password.expose()))
            .await?
    }

    /// Verifies a password against a stored PHC string. With `None` (unknown person) it
    /// verifies against a dummy hash and returns `false`, costing the same time.
    pub async fn verify(&self, password: &Secret, phc: Option<String>) -> Result<bool, HashError> {
        let _place = self.queue.try_acquire().map_err(|_| HashError::Busy)?;
        let _permit = self.permits.acquire().await.map_err(|_| HashError::Join)?;
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| self.dummy_hash.to_string());
        let password = password.clone();
        let ok = self
            .timed(move || verify_reusing_memory(&phc, password.expose().as_bytes()))
            .await?;
        Ok(known && ok)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::env::OsRandom;

    #[test]
    fn the_dummy_hash_has_the_real_parameters_and_matches_nothing() {
        let params = Params::new(64, 1, 1, None).expect("params");
        let phc = dummy_phc(&OsRandom, &params).expect("dummy");
        // It parses as argon2id with the same parameters, so verifying costs a full hash.
        let parsed = PasswordHash::new(&phc).expect("parses");
        assert_eq!(
            Algorithm::try_from(parsed.algorithm).ok(),
            Some(Algorithm::Argon2id)
        );
        let got = Params::try_from(&parsed).expect("params");
        assert_eq!(
            (got.m_cost(), got.t_cost(), got.p_cost()),
            (params.m_cost(), params.t_cost(), params.p_cost())
        );
        assert_eq!(
            parsed.hash.map(|h| h.len()),
            Some(Params::DEFAULT_OUTPUT_LEN)
        );
        assert!(!verify_reusing_memory(&phc, b"anything"));
        assert_ne!(
            phc,
            dummy_phc(&OsRandom, &params).expect("dummy"),
            "random salt"
        );
    }

    #[test]
    fn a_full_queue_refuses_at_once() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        // One hashing thread, one waiting place: of three checks started together, the
        // first runs, the second waits, the third is refused without waiting.
        let params = Params::new(19_456, 2, 1, None).expect("params");
        let p = Passwords::with_limits(Arc::new(OsRandom), params, 1, 1).expect("passwords");
        let pw = Secret::new("anything");
        let (a, b, c) = rt.block_on(async {
            tokio::join!(
                p.verify(&pw, None),
                p.verify(&pw, None),
                p.verify(&pw, None)
            )
        });
        assert!(matches!(a, Ok(false)), "{a:?}");
        assert!(matches!(b, Ok(false)), "{b:?}");
        assert!(matches!(c, Err(HashError::Busy)), "{c:?}");
        // Once they are done there is room again.
        assert!(matches!(rt.block_on(p.verify(&pw, None)), Ok(false)));
    }
}
