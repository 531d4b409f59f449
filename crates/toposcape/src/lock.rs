//! One writer per folder: an advisory lock file, `.lock`, that holds its owner's process id,
//! host and start time (docs/ARCHITECTURE.md, contract 4).
//!
//! The file is created with `create_new` (`O_CREAT | O_EXCL`), which is atomic on local
//! filesystems and on NFS from version 3 on, so two processes never both own a folder. A lock
//! whose owner is gone (killed with -9, a machine that rebooted) is stale: on the owner's own
//! host toposcape sees that the process no longer exists (or that its process id now belongs
//! to a process that started at another time) and takes the lock over. A lock of another host
//! cannot be checked from here and is refused with a message that says which file to remove.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::{Error, Result};

/// The lock file's name in the folder it locks.
pub const LOCK_FILE: &str = ".lock";

/// A lock whose file cannot be read as one is stale once it is this old (its writer was killed
/// between creating and writing it; younger, it may be being written now).
const UNREADABLE_GRACE: Duration = Duration::from_secs(10);

/// Owning a folder; the lock file goes when this is dropped.
#[derive(Debug)]
pub struct FolderLock {
    path: PathBuf,
}

impl Drop for FolderLock {
    fn drop(&mut self) {
        // Gone already (the folder was removed) is fine.
        let _ = fs::remove_file(&self.path);
    }
}

/// Who holds a lock.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    pid: u32,
    host: String,
    /// The process's start time in clock ticks since boot (Linux), to tell a reused id.
    start: Option<u64>,
}

impl Owner {
    fn this_process() -> Owner {
        let pid = std::process::id();
        Owner {
            pid,
            host: host(),
            start: start_time(pid),
        }
    }

    fn to_text(&self) -> String {
        let start = self.start.map_or("-".into(), |s| s.to_string());
        format!("{} {} {start}\n", self.pid, self.host)
    }

    fn parse(text: &str) -> Option<Owner> {
        let mut fields = text.split_whitespace();
        let pid = fields.next()?.parse().ok()?;
        let host = fields.next()?.to_string();
        let start = match fields.next()? {
            "-" => None,
            s => Some(s.parse().ok()?),
        };
        Some(Owner { pid, host, start })
    }

    /// Whether the owner is known to be gone (only on this host, where it can be checked).
    fn is_gone(&self) -> bool {
        if self.host != host() || !cfg!(target_os = "linux") {
            return false;
        }
        match start_time(self.pid) {
            None => true,
            Some(now) => self.start.is_some_and(|then| then != now),
        }
    }
}

/// This machine's name, as the kernel has it.
fn host() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| fs::read_to_string("/etc/hostname"))
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty() && !h.contains(char::is_whitespace))
        .unwrap_or_else(|| "unknown-host".into())
}

/// Field 22 of `/proc/PID/stat`: when the process started; `None` when there is no such
/// process (or no `/proc`), or when it has ended and only its exit status is left (a zombie,
/// as the ranks of a killed MPI job are until they are reaped): it writes nothing more.
fn start_time(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) is in parentheses and may hold spaces.
    let mut after = stat[stat.rfind(')')? + 1..].split_whitespace();
    if after.next()? == "Z" {
        return None;
    }
    after.nth(18)?.parse().ok()
}

/// Takes the lock of `dir` (creating the folder if needed) for this process, or refuses as an
/// error of option `key` naming who holds it.
pub fn lock(dir: &Path, key: &str) -> Result<FolderLock> {
    fs::create_dir_all(dir)
        .map_err(|e| Error::option(key, dir.display(), format!("cannot create: {e}")))?;
    let path = dir.join(LOCK_FILE);
    let me = Owner::this_process();
    // A stale lock is removed once; a second failure means another process won the race.
    for attempt in 0..2 {
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(mut file) => {
                file.write_all(me.to_text().as_bytes())
                    .and_then(|()| file.sync_data())
                    .map_err(|e| Error::file("write", &path, e))?;
                return Ok(FolderLock { path });
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                let text = fs::read_to_string(&path).unwrap_or_default();
                let stale = match Owner::parse(&text) {
                    Some(owner) if owner == me => {
                        return Err(Error::Internal(format!(
                            "{}: locked twice by this process",
                            path.display()
                        )));
                    }
                    Some(owner) => owner.is_gone(),
                    None => age(&path).is_some_and(|a| a > UNREADABLE_GRACE),
                };
                if stale && attempt == 0 {
                    match fs::remove_file(&path) {
                        Ok(()) => continue,
                        Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                        Err(e) => return Err(Error::file("remove", &path, e)),
                    }
                }
                let holder = Owner::parse(&text).map_or("another process".into(), |o| {
                    format!("toposcape (process {} on {})", o.pid, o.host)
                });
                return Err(Error::option(
                    key,
                    dir.display(),
                    format!(
                        "is being written by {holder}; wait for it to finish, or remove {} if \
                         that process is gone",
                        path.display()
                    ),
                ));
            }
            Err(e) => return Err(Error::file("create", &path, e)),
        }
    }
    unreachable!("the loop returns")
}

fn age(path: &Path) -> Option<Duration> {
    let modified = fs::metadata(path).ok()?.modified().ok()?;
    SystemTime::now().duration_since(modified).ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("toposcape-lock-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn a_second_writer_is_refused_and_the_lock_goes_with_its_owner() {
        let dir = temp("second");
        let held = lock(&dir, "out").unwrap();
        assert!(dir.join(LOCK_FILE).is_file());
        // A live owner: this test's parent process, on this host.
        let parent = std::os::unix::process::parent_id();
        let other = Owner {
            pid: parent,
            host: host(),
            start: start_time(parent),
        };
        drop(held);
        assert!(!dir.join(LOCK_FILE).exists());
        fs::write(dir.join(LOCK_FILE), other.to_text()).unwrap();
        let error = lock(&dir, "out").unwrap_err().with_flags();
        assert!(error.starts_with("--out "), "{error}");
        assert!(
            error.contains(&format!("process {parent} on {}", host())),
            "{error}"
        );
        assert!(error.contains("remove"), "{error}");
        // Another host's lock cannot be checked: refused too.
        let remote = Owner {
            pid: 1,
            host: "elsewhere".into(),
            start: None,
        };
        fs::write(dir.join(LOCK_FILE), remote.to_text()).unwrap();
        assert!(lock(&dir, "out").is_err());
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_stale_lock_is_taken_over() {
        let dir = temp("stale");
        fs::create_dir_all(&dir).unwrap();
        // A process that has exited: a child that ran and was waited for.
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = Owner {
            pid,
            host: host(),
            start: Some(1),
        };
        fs::write(dir.join(LOCK_FILE), dead.to_text()).unwrap();
        let held = lock(&dir, "out").unwrap();
        let text = fs::read_to_string(dir.join(LOCK_FILE)).unwrap();
        assert_eq!(Owner::parse(&text), Some(Owner::this_process()));
        drop(held);
        // A live process id whose start time differs: the id was reused, the owner is gone.
        let reused = Owner {
            pid: std::os::unix::process::parent_id(),
            host: host(),
            start: Some(u64::MAX),
        };
        fs::write(dir.join(LOCK_FILE), reused.to_text()).unwrap();
        drop(lock(&dir, "out").unwrap());
        fs::remove_dir_all(&dir).unwrap();
    }
}
