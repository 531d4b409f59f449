//! The ranks of an MPI job as a [`Team`] (feature `mpi`): OpenMPI or MPICH through the `mpi`
//! crate, launched by `mpirun` or `srun`.
//!
//! MPI is initialised only in a process that a launcher started (its environment says so), so
//! the same binary started alone is one process as without the feature. Every call into MPI
//! holds one lock (MPI's "serialized" threading), and a wait polls with sleeps between looks
//! (MPI's blocking calls spin a core, which the ranks on this machine compute on). A panic on
//! any rank aborts the whole job instead of leaving the others waiting.

use std::sync::Mutex;
use std::time::Duration;

use mpi::Threading;
use mpi::environment::Universe;
use mpi::point_to_point::MatchedReceiveVec;
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::traits::{Destination, Source};

use crate::error::{Error, Result};
use crate::team::{Message, Tag, Team};

/// Environment variables that the launchers set in the processes they start: OpenMPI's
/// `mpirun`, MPICH's Hydra and Slurm's `srun` (PMI-2 or PMIx).
const LAUNCHED: [&str; 4] = ["OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "PMI_RANK"];

/// The world of an MPI job.
pub struct Mpi {
    world: SimpleCommunicator,
    local: (usize, usize),
    calls: Mutex<()>,
    // Finalises MPI when dropped, after the communicators.
    _universe: Universe,
}

// SAFETY: every MPI call goes through `calls`, so no two threads are ever in MPI at once, which
// is what the "serialized" threading level that `launched` requires allows.
unsafe impl Sync for Mpi {}

impl Mpi {
    /// The job this process was started in by an MPI launcher, or `None` when no launcher
    /// started it.
    pub fn launched() -> Result<Option<Mpi>> {
        if !LAUNCHED.iter().any(|v| std::env::var_os(v).is_some()) {
            return Ok(None);
        }
        let Some((universe, threading)) = mpi::initialize_with_threading(Threading::Serialized)
        else {
            return Err(Error::Internal("MPI was initialised twice".into()));
        };
        if threading < Threading::Serialized {
            return Err(Error::Internal(format!(
                "this MPI library offers only {threading:?} threading; toposcape needs \
                 Serialized (one thread in MPI at a time)"
            )));
        }
        let world = universe.world();
        let node = world.split_shared(world.rank());
        let local = (node.size() as usize, node.rank() as usize);
        abort_on_panic();
        Ok(Some(Mpi {
            world,
            local,
            calls: Mutex::new(()),
            _universe: universe,
        }))
    }

    /// Ends every rank of the job with exit status `code` (the launcher reports it).
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }
}

/// A panic prints its message as usual, then ends the job: a rank that dies alone would leave
/// the others waiting for it.
fn abort_on_panic() {
    let print = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        print(info);
        SimpleCommunicator::world().abort(101);
    }));
}

impl Team for Mpi {
    fn rank(&self) -> usize {
        self.world.rank() as usize
    }

    fn size(&self) -> usize {
        self.world.size() as usize
    }

    fn local(&self) -> (usize, usize) {
        self.local
    }

    fn send(&self, to: usize, tag: Tag, bytes: &[u8]) {
        let _calls = self.calls.lock().expect("lock");
        self.world
            .process_at_rank(to as i32)
            .send_with_tag(bytes, tag as i32);
    }

    fn receive(&self, from: Option<usize>) -> Message {
        // A message in flight arrives within microseconds; a rank that waits for work waits
        // for seconds, looking every 2 ms.
        let mut pause = Duration::from_micros(20);
        loop {
            {
                let _calls = self.calls.lock().expect("lock");
                let probe = match from {
                    Some(rank) => self
                        .world
                        .process_at_rank(rank as i32)
                        .immediate_matched_probe(),
                    None => self.world.any_process().immediate_matched_probe(),
                };
                if let Some(probed) = probe {
                    let (bytes, status) = probed.matched_receive_vec::<u8>();
                    let tag = Tag::from_i32(status.tag())
                        .unwrap_or_else(|| panic!("a message of unknown tag {}", status.tag()));
                    return Message {
                        from: status.source_rank() as usize,
                        tag,
                        bytes,
                    };
                }
            }
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(2));
        }
    }
}
