//! The processes this one runs with: the MPI job a launcher started it in (feature `mpi`),
//! else itself alone.

use toposcape::team::{Solo, Team};

use crate::error::InputError;

/// This process's team.
pub enum Ranks {
    /// Started alone (or built without MPI).
    Solo(Solo),
    /// One rank of an MPI job.
    #[cfg(feature = "mpi")]
    Mpi(toposcape::mpi::Mpi),
}

impl Ranks {
    /// The MPI job this process was launched in, if any.
    pub fn join() -> toposcape::Result<Ranks> {
        #[cfg(feature = "mpi")]
        if let Some(mpi) = toposcape::mpi::Mpi::launched()? {
            return Ok(Ranks::Mpi(mpi));
        }
        Ok(Ranks::Solo(Solo))
    }

    pub fn team(&self) -> &dyn Team {
        match self {
            Ranks::Solo(solo) => solo,
            #[cfg(feature = "mpi")]
            Ranks::Mpi(mpi) => mpi,
        }
    }

    /// What an error line starts with: the rank that failed, in a job of several.
    pub fn prefix(&self) -> String {
        let team = self.team();
        match team.rank() {
            0 => String::new(),
            rank => format!("rank {rank} of {}: ", team.size()),
        }
    }
}

/// The error of a command that runs as one process, started on several ranks: rank 0 says so.
pub fn alone(command: &str, team: &dyn Team) -> anyhow::Error {
    if team.rank() > 0 {
        return toposcape::Error::Elsewhere {
            rank: 0,
            input: true,
        }
        .into();
    }
    InputError(format!(
        "`toposcape {command}` runs as one process; under mpirun or srun only \
         `toposcape analyze` and `toposcape sweep` share their work between ranks (start {command} without a launcher, \
         or with one rank)"
    ))
    .into()
}
