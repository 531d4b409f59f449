//! Several processes on one landscape: the ranks of an MPI job (`toposcape::mpi`, feature
//! `mpi`), or one process alone ([`Solo`]).
//!
//! Rank 0 owns every file: it takes the output's lock, computes the directions once, keeps the
//! chunk store and writes the outputs. The other ranks only read the config and the weights,
//! and compute the chunks rank 0 hands out, one at a time as each of their workers asks, so a
//! slow rank takes fewer chunks instead of holding the rest back. A chunk's values do not
//! depend on the rank that computed it, so the landscape is bit-identical to one process's.
//! Nothing is locked on a shared filesystem beyond rank 0's lock file, and nothing is written
//! by the other ranks, so a killed job leaves only rank 0's chunks, which a rerun resumes.
//!
//! A failure on any rank ends every rank: each step that can fail is agreed ([`agree`]), so the
//! lowest rank that failed reports its error, the others return [`Error::Elsewhere`] (nothing
//! to print) and all exit with the same status; no rank waits for one that has given up.
//!
//! Every wait is a poll that sleeps between looks (the [`Team::receive`] contract), so a rank
//! that waits for rank 0's Hessian or for its last chunks does not spin a core that the others
//! compute on.

use std::ops::Range;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use toposcape_perturb::plan::Plan;
use toposcape_perturb::sample::{ChunkSource, PointEvaluator, StoreChunks, sample_from};
use toposcape_perturb::store::{ChunkStore, StoreDescription, StoreError};

use crate::error::{Error, Result};

/// What a message is; every message is bytes with one of these tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Tag {
    /// A rank's outcome of a step, and rank 0's verdict on all of them ([`agree`]).
    Status = 1,
    /// Rank 0's result for every rank ([`from_root`]).
    Share = 2,
    /// A worker asks rank 0 for a chunk.
    Request = 3,
    /// Rank 0's answer to a request: a chunk's index, or nothing when none is left.
    Assign = 4,
    /// A computed chunk: its index, then its values.
    Values = 5,
    /// A rank's workers have asked for their last chunk.
    Done = 6,
    /// Rank 0's exit status, at the end.
    Final = 7,
}

impl Tag {
    /// The tag of a number received, if it is one.
    pub fn from_i32(tag: i32) -> Option<Tag> {
        use Tag::*;
        [Status, Share, Request, Assign, Values, Done, Final]
            .into_iter()
            .find(|t| *t as i32 == tag)
    }
}

/// A message received: its sender, its tag and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// The sender's rank.
    pub from: usize,
    /// What the message is.
    pub tag: Tag,
    /// Its contents.
    pub bytes: Vec<u8>,
}

/// The processes of one job, with ordered point-to-point messages between them. Messages from
/// one rank to another arrive in the order they were sent.
pub trait Team: Sync {
    /// This process's rank, 0 to `size() - 1`.
    fn rank(&self) -> usize;
    /// The number of ranks.
    fn size(&self) -> usize;
    /// The ranks on this rank's machine and this rank's index among them: how many cores and
    /// which GPU are its share.
    fn local(&self) -> (usize, usize);
    /// Sends `bytes` to rank `to`.
    fn send(&self, to: usize, tag: Tag, bytes: &[u8]);
    /// The next message from `from` (from any rank if `None`). A wait sleeps between looks
    /// rather than spinning a core; callable from several threads.
    fn receive(&self, from: Option<usize>) -> Message;
}

/// One process alone: rank 0 of 1.
#[derive(Debug, Clone, Copy, Default)]
pub struct Solo;

impl Team for Solo {
    fn rank(&self) -> usize {
        0
    }

    fn size(&self) -> usize {
        1
    }

    fn local(&self) -> (usize, usize) {
        (1, 0)
    }

    fn send(&self, to: usize, tag: Tag, _: &[u8]) {
        unreachable!("a process alone sends nothing (tag {tag:?} to rank {to})")
    }

    fn receive(&self, from: Option<usize>) -> Message {
        unreachable!("a process alone receives nothing (from {from:?})")
    }
}

/// This rank's share of its machine's cores: all of them split evenly among the ranks there,
/// at least one.
pub fn cores(team: &dyn Team) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let (local, index) = team.local();
    // The first `cores % local` ranks take one more, so every core has a worker.
    (cores / local + usize::from(index < cores % local)).max(1)
}

/// A status byte: 0 success, 2 bad input, 1 anything else (the command line's exit codes).
fn code(result: &Result<impl Sized>) -> u8 {
    match result {
        Ok(_) => 0,
        Err(e) if e.is_input() => 2,
        Err(_) => 1,
    }
}

fn expect(message: Message, tag: Tag) -> Vec<u8> {
    assert_eq!(
        message.tag, tag,
        "rank {} sent {:?} where {tag:?} was due",
        message.from, message.tag
    );
    message.bytes
}

/// The error of a rank that did not fail itself.
fn elsewhere(rank: usize, code: u8) -> Error {
    Error::Elsewhere {
        rank,
        input: code == 2,
    }
}

/// Every rank's outcome of the same step, agreed: `Ok` on every rank when all succeeded, else
/// the error on the lowest rank that failed and [`Error::Elsewhere`] on the others.
pub fn agree<T>(team: &dyn Team, result: Result<T>) -> Result<T> {
    if team.size() == 1 {
        return result;
    }
    let mine = code(&result);
    let (failed, status) = if team.rank() == 0 {
        let mut verdict = (0usize, mine);
        for r in 1..team.size() {
            let status = expect(team.receive(Some(r)), Tag::Status)[0];
            if verdict.1 == 0 && status != 0 {
                verdict = (r, status);
            }
        }
        let mut bytes = (verdict.0 as u64).to_le_bytes().to_vec();
        bytes.push(verdict.1);
        for r in 1..team.size() {
            team.send(r, Tag::Status, &bytes);
        }
        verdict
    } else {
        team.send(0, Tag::Status, &[mine]);
        let bytes = expect(team.receive(Some(0)), Tag::Status);
        let failed = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
        (failed, bytes[8])
    };
    match result {
        Ok(_) if status != 0 => Err(elsewhere(failed, status)),
        Err(_) if failed != team.rank() => Err(elsewhere(failed, status)),
        other => other,
    }
}

/// Rank 0's bytes on every rank: rank 0 passes `Some` (its result), the others `None`. A
/// failure on rank 0 is its error there and [`Error::Elsewhere`] on the others.
pub fn from_root(team: &dyn Team, root: Option<Result<Vec<u8>>>) -> Result<Vec<u8>> {
    if team.rank() == 0 {
        let root = root.expect("rank 0 has the result");
        let mut bytes = vec![code(&root)];
        if let Ok(payload) = &root {
            bytes.extend_from_slice(payload);
        }
        for r in 1..team.size() {
            team.send(r, Tag::Share, &bytes);
        }
        root
    } else {
        let mut bytes = expect(team.receive(Some(0)), Tag::Share);
        match bytes[0] {
            0 => Ok(bytes.split_off(1)),
            code => Err(elsewhere(0, code)),
        }
    }
}

/// Rank 0's last word: its outcome of the whole job, sent to the other ranks, which wait for it
/// in [`final_status`] (so that none leaves while rank 0 still writes).
pub fn finish<T>(team: &dyn Team, result: Result<T>) -> Result<T> {
    let bytes = [code(&result)];
    for r in 1..team.size() {
        team.send(r, Tag::Final, &bytes);
    }
    result
}

/// The other ranks: waits for rank 0's [`finish`]; its failure is [`Error::Elsewhere`].
pub fn final_status(team: &dyn Team) -> Result<()> {
    match expect(team.receive(Some(0)), Tag::Final)[0] {
        0 => Ok(()),
        code => Err(elsewhere(0, code)),
    }
}

/// Rank 0's chunks: the store's missing chunks, for its own workers and the other ranks' alike;
/// every chunk put is stored and counted, and after a failed write none is handed out.
struct RootChunks<'a> {
    chunks: StoreChunks<'a>,
    store: &'a ChunkStore,
    failed: AtomicBool,
    done: AtomicUsize,
    progress: &'a (dyn Fn(usize) + Sync),
}

impl ChunkSource for RootChunks<'_> {
    fn next(&self) -> Option<usize> {
        if self.failed.load(Ordering::Relaxed) {
            return None;
        }
        self.chunks.next()
    }

    fn range(&self, k: usize) -> Range<usize> {
        self.store.range(k)
    }

    fn put(&self, k: usize, values: &[f32]) -> Result<(), StoreError> {
        if let Err(e) = self.store.write(k, values) {
            self.failed.store(true, Ordering::Relaxed);
            return Err(e);
        }
        let done = self.done.fetch_add(values.len(), Ordering::Relaxed) + values.len();
        (self.progress)(done);
        Ok(())
    }
}

/// Rank 0: samples the chunks missing from `store` with its own `evaluators` while handing
/// chunks to the other ranks and storing theirs, until every rank is done. `progress` is called
/// with the points stored so far by all ranks. Returns that number.
pub fn sample_root<P: Plan + ?Sized, E: PointEvaluator>(
    team: &dyn Team,
    plan: &P,
    store: &ChunkStore,
    evaluators: Vec<E>,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<usize> {
    let source = RootChunks {
        chunks: StoreChunks::missing(store)?,
        store,
        failed: AtomicBool::new(false),
        done: AtomicUsize::new(0),
        progress,
    };
    let (local, served) = std::thread::scope(|scope| {
        let server = (team.size() > 1).then(|| scope.spawn(|| serve(team, &source)));
        let local = sample_from(plan, &source, evaluators, &|_| {});
        let served = server.map_or(Ok(()), |s| s.join().expect("the chunk server"));
        (local, served)
    });
    local?;
    served?;
    Ok(source.done.into_inner())
}

/// Rank 0's answers to the other ranks until each has said it is done.
fn serve(team: &dyn Team, source: &RootChunks) -> Result<(), StoreError> {
    let mut failure = None;
    hand_out(team, &|| source.next(), &mut |k, bytes| {
        // After a failure the chunks still in flight are dropped.
        if failure.is_none() {
            let values = bytes_f32(&bytes);
            if let Err(e) = source.put(k, &values) {
                failure = Some(e);
            }
        }
    });
    failure.map_or(Ok(()), Err)
}

/// Rank 0: hands out pieces of work, `next` of them to each rank's request, and passes each
/// result sent back to `take`, until every other rank has said it is done ([`done`]).
pub fn hand_out(
    team: &dyn Team,
    next: &dyn Fn() -> Option<usize>,
    take: &mut dyn FnMut(usize, Vec<u8>),
) {
    let mut active = team.size() - 1;
    while active > 0 {
        let message = team.receive(None);
        match message.tag {
            Tag::Request => {
                let bytes = next().map_or_else(Vec::new, |k| (k as u64).to_le_bytes().to_vec());
                team.send(message.from, Tag::Assign, &bytes);
            }
            Tag::Values => {
                let mut bytes = message.bytes;
                let result = bytes.split_off(8);
                let k = u64::from_le_bytes(bytes[..].try_into().expect("8 bytes")) as usize;
                take(k, result);
            }
            Tag::Done => active -= 1,
            other => panic!(
                "rank {} sent {other:?} while work was handed out",
                message.from
            ),
        }
    }
}

/// A rank other than 0: the next piece of rank 0's [`hand_out`], or `None` when none is left.
pub fn ask(team: &dyn Team) -> Option<usize> {
    team.send(0, Tag::Request, &[]);
    let bytes = expect(team.receive(Some(0)), Tag::Assign);
    (!bytes.is_empty()).then(|| u64::from_le_bytes(bytes[..].try_into().expect("8 bytes")) as usize)
}

/// A rank other than 0: the result of piece `k`, for rank 0's [`hand_out`].
pub fn give(team: &dyn Team, k: usize, result: &[u8]) {
    let mut bytes = (k as u64).to_le_bytes().to_vec();
    bytes.extend_from_slice(result);
    team.send(0, Tag::Values, &bytes);
}

/// A rank other than 0: it asks for nothing more.
pub fn done(team: &dyn Team) {
    team.send(0, Tag::Done, &[]);
}

/// The other ranks: computes the chunks rank 0 hands out with `evaluators` until it has none
/// left, and sends each back. `description` is the store's, as rank 0 described it. Returns
/// the number of points computed here.
pub fn sample_member<P: Plan + ?Sized, E: PointEvaluator>(
    team: &dyn Team,
    plan: &P,
    description: &StoreDescription,
    evaluators: Vec<E>,
) -> usize {
    let source = MemberChunks {
        team,
        description,
        asking: Mutex::new(()),
    };
    let computed = sample_from(plan, &source, evaluators, &|_| {})
        .expect("sending a chunk to rank 0 cannot fail");
    done(team);
    computed
}

/// A rank other than 0: chunks asked of rank 0 and sent back to it.
struct MemberChunks<'a> {
    team: &'a dyn Team,
    description: &'a StoreDescription,
    /// One request in flight at a time, so each worker's answer is its own.
    asking: Mutex<()>,
}

impl ChunkSource for MemberChunks<'_> {
    fn next(&self) -> Option<usize> {
        let _asking = self.asking.lock().expect("lock");
        ask(self.team)
    }

    fn range(&self, k: usize) -> Range<usize> {
        self.description.range(k)
    }

    fn put(&self, k: usize, values: &[f32]) -> Result<(), StoreError> {
        give(self.team, k, &f32_bytes(values));
        Ok(())
    }
}

/// f32 values as little-endian bytes, for [`from_root`].
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// Little-endian bytes as f32 values.
pub fn bytes_f32(bytes: &[u8]) -> Vec<f32> {
    bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
        .collect()
}

/// Ranks as threads of one process, with queues between them: a [`Team`] for tests of code
/// that runs on several ranks, without MPI. [`Threads::team`] makes every rank's handle.
#[derive(Clone)]
pub struct Threads {
    rank: usize,
    inboxes: std::sync::Arc<
        Vec<(
            Mutex<std::collections::VecDeque<Message>>,
            std::sync::Condvar,
        )>,
    >,
}

impl Threads {
    /// The handles of `size` ranks, rank 0 first; give each to its own thread.
    pub fn team(size: usize) -> Vec<Threads> {
        assert!(size > 0, "at least one rank");
        let inboxes = std::sync::Arc::new(
            (0..size)
                .map(|_| (Mutex::default(), std::sync::Condvar::new()))
                .collect::<Vec<_>>(),
        );
        (0..size)
            .map(|rank| Threads {
                rank,
                inboxes: inboxes.clone(),
            })
            .collect()
    }
}

impl Team for Threads {
    fn rank(&self) -> usize {
        self.rank
    }

    fn size(&self) -> usize {
        self.inboxes.len()
    }

    fn local(&self) -> (usize, usize) {
        (self.size(), self.rank)
    }

    fn send(&self, to: usize, tag: Tag, bytes: &[u8]) {
        let (queue, arrived) = &self.inboxes[to];
        queue.lock().expect("lock").push_back(Message {
            from: self.rank,
            tag,
            bytes: bytes.to_vec(),
        });
        arrived.notify_all();
    }

    fn receive(&self, from: Option<usize>) -> Message {
        let (queue, arrived) = &self.inboxes[self.rank];
        let mut queue = queue.lock().expect("lock");
        loop {
            if let Some(i) = queue.iter().position(|m| from.is_none_or(|f| m.from == f)) {
                return queue.remove(i).expect("a message");
            }
            queue = arrived.wait(queue).expect("lock");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use toposcape_perturb::plan::GridPlan;

    /// A loss of the coordinates that takes a moment a chunk, so that every rank gets work.
    struct Slow;

    impl PointEvaluator for Slow {
        fn evaluate(&mut self, coords: &[f64], out: &mut [f32]) {
            std::thread::sleep(std::time::Duration::from_millis(2));
            for (point, slot) in coords.chunks_exact(2).zip(out) {
                *slot = (point[0] * point[0] + 3.0 * point[1] - point[0] * point[1]) as f32;
            }
        }
    }

    fn store(name: &str, plan: &GridPlan) -> ChunkStore {
        let dir =
            std::env::temp_dir().join(format!("toposcape-team-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let description = StoreDescription {
            points: plan.len(),
            chunk: 2,
            fingerprint: "slow".into(),
        };
        ChunkStore::open(&dir, description).unwrap()
    }

    /// Runs `rank` on every rank of a team of `size` threads; their results in rank order.
    fn on_threads<T: Send>(size: usize, rank: impl Fn(&Threads) -> T + Sync) -> Vec<T> {
        std::thread::scope(|scope| {
            let handles: Vec<_> = Threads::team(size)
                .into_iter()
                .map(|team| {
                    let rank = &rank;
                    scope.spawn(move || rank(&team))
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        })
    }

    #[test]
    fn three_ranks_store_the_landscape_of_one_process_and_share_the_work() {
        let plan = GridPlan::centred(&[9, 7], &[2.0, 1.5]);
        let alone = store("alone", &plan);
        let points = sample_root(&Solo, &plan, &alone, vec![Slow], &|_| {}).unwrap();
        assert_eq!(points, 63);
        let shared = store("shared", &plan);
        let stored = AtomicUsize::new(0);
        let computed = on_threads(3, |team| match team.rank() {
            0 => sample_root(team, &plan, &shared, vec![Slow], &|done| {
                stored.fetch_max(done, Ordering::Relaxed);
            })
            .unwrap(),
            _ => sample_member(team, &plan, shared.description(), vec![Slow]),
        });
        // Rank 0 counts every rank's points; each other rank computed some of them.
        assert_eq!(computed[0], 63);
        assert_eq!(stored.into_inner(), 63);
        assert!(computed[1] > 0 && computed[2] > 0, "{computed:?}");
        assert!(computed[1] + computed[2] < 63, "{computed:?}");
        assert_eq!(
            alone.assemble().unwrap(),
            shared.assemble().unwrap(),
            "bit-identical"
        );
        alone.remove().unwrap();
        shared.remove().unwrap();
    }

    #[test]
    fn the_lowest_rank_that_failed_reports_and_the_others_know() {
        let outcomes = on_threads(4, |team| {
            let result = match team.rank() {
                1 => Err(Error::Input("rank 1's file".into())),
                3 => Err(Error::Internal("rank 3's disk".into())),
                _ => Ok(()),
            };
            agree(team, result).map_err(|e| e.to_string())
        });
        assert_eq!(
            outcomes,
            [
                Err("rank 1 failed".to_string()),
                Err("rank 1's file".to_string()),
                Err("rank 1 failed".to_string()),
                Err("rank 1 failed".to_string()),
            ]
        );
        let codes = on_threads(3, |team| {
            let result = if team.rank() == 2 {
                Err(Error::Input("x".into()))
            } else {
                Ok(())
            };
            agree(team, result).map_err(|e| e.is_input())
        });
        assert_eq!(codes, [Err(true), Err(true), Err(true)]);
        assert!(
            on_threads(3, |team| agree(team, Ok(team.rank())).is_ok())
                .iter()
                .all(|&ok| ok)
        );
    }

    #[test]
    fn rank_0s_failure_reaches_every_rank_and_its_result_does_too() {
        let shared = on_threads(3, |team| {
            let root = (team.rank() == 0).then(|| Ok(vec![1, 2, 3]));
            from_root(team, root).unwrap()
        });
        assert_eq!(shared, vec![vec![1, 2, 3]; 3]);
        let failed = on_threads(3, |team| {
            let root = (team.rank() == 0).then(|| Err(Error::Input("bad".into())));
            from_root(team, root).map_err(|e| (e.to_string(), e.is_input()))
        });
        assert_eq!(failed[0], Err(("bad".to_string(), true)));
        assert_eq!(failed[1], Err(("rank 0 failed".to_string(), true)));
        let last = on_threads(3, |team| match team.rank() {
            0 => finish(team, Err::<(), _>(Error::Internal("disk".into()))).is_err(),
            _ => final_status(team).is_err_and(|e| !e.is_input()),
        });
        assert_eq!(last, [true, true, true]);
    }

    #[test]
    fn every_core_has_one_rank() {
        let machine = std::thread::available_parallelism().map_or(1, |n| n.get());
        // Three ranks on this machine: the cores split among them, each at least one.
        let shares: Vec<usize> = Threads::team(3).iter().map(|t| cores(t)).collect();
        assert_eq!(shares.iter().sum::<usize>(), machine.max(3));
        assert!(shares.iter().max().unwrap() - shares.iter().min().unwrap() <= 1);
    }
}
