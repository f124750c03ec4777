//! Several jobs in one run (`wait ID ID…`, `upload` with several
//! configurations): each job as far as it got, and the runs that make them.
//! Which job decides the run's result is the core's rule
//! ([`ec3_gate::deciding_result`]); this module only applies it.

use std::time::{Duration, Instant};

use ec3_gate::{
    Cancel, Client, Error, Job, JobId, JobOutcome, JobStatus, NewJobs, Timeout, WaitOptions,
};

use super::Outcome;
use super::progress::Progress;
use super::reporter::LastSeen;

/// One job of a group run, as far as it got.
#[derive(Debug, Clone)]
pub struct Member {
    /// Its id; `None` when it could not be created.
    pub id: Option<JobId>,
    /// The service's last answer about it.
    pub job: Option<Job>,
    /// How it ended: `Ok(Some(job))` finished, `Ok(None)` created and not
    /// waited for, `Err` why not (unfinished ones of an interrupted run are
    /// [`Error::Cancelled`]).
    pub result: Result<Option<Job>, Error>,
}

impl Member {
    /// A job not yet ended.
    pub fn pending(id: Option<JobId>) -> Self {
        Self {
            id,
            job: None,
            result: Err(Error::Cancelled),
        }
    }

    /// What the run would be for this job alone: its exit status and its
    /// verdict come from it.
    pub fn outcome(&self) -> Outcome {
        match (&self.result, &self.id) {
            (Ok(Some(job)), _) => Outcome::Finished(job.clone()),
            (Ok(None), Some(id)) => Outcome::Created(id.clone()),
            (Ok(None), None) => Outcome::Failed(Error::Internal("a job without an id".into())),
            (Err(e), _) => Outcome::Failed(e.clone()),
        }
    }

    /// It succeeded: `Succeeded`, or created and not waited for.
    pub fn succeeded(&self) -> bool {
        deciding(std::slice::from_ref(self)).is_none()
    }

    fn from_outcome(outcome: JobOutcome) -> Self {
        Self {
            id: Some(outcome.id),
            job: outcome.last_seen,
            result: outcome.result.map(Some),
        }
    }
}

/// The position of the member that decides the run's result, by the core's
/// precedence; `None` when every one succeeded.
pub fn deciding(members: &[Member]) -> Option<usize> {
    ec3_gate::deciding_result(members.iter().map(|m| &m.result), |ended| {
        ended
            .as_ref()
            .is_none_or(|job| job.status == JobStatus::Succeeded)
    })
}

/// `wait ID ID…`: every job under one deadline and the client's one budget.
pub fn wait_all(
    client: &Client,
    ids: &[JobId],
    options: &WaitOptions,
    cancel: &Cancel,
    seen: &LastSeen,
    progress: &mut Progress,
) -> Outcome {
    seen.members(ids.iter().cloned().map(Some).map(Member::pending).collect());
    match client.wait_all(ids, options, cancel, progress) {
        Ok(outcomes) => Outcome::Group(outcomes.into_iter().map(Member::from_outcome).collect()),
        Err(e) => Outcome::Failed(e),
    }
}

/// `upload` with several configurations: create every job (never one
/// twice), then with `wait` wait for those created, all within `wait`'s one
/// deadline.
pub fn upload_all(
    client: &Client,
    jobs: &NewJobs,
    timeout: Timeout,
    wait: Option<WaitOptions>,
    cancel: &Cancel,
    seen: &LastSeen,
    progress: &mut Progress,
) -> Outcome {
    let started = Instant::now();
    // Filled in as each job is created (`Event::Created`), so a signal
    // during the creations still writes the ids of those that exist.
    seen.members(vec![Member::pending(None); jobs.configuration_ids.len()]);
    let created = match client.create_jobs(jobs, timeout, cancel, progress) {
        Ok(created) => created,
        Err(e) => return Outcome::Failed(e),
    };
    let mut members: Vec<Member> = created
        .into_iter()
        .map(|result| Member {
            id: result.as_ref().ok().cloned(),
            job: None,
            result: result.map(|_| None),
        })
        .collect();
    let ids: Vec<Option<JobId>> = members.iter().map(|m| m.id.clone()).collect();
    progress.reporter().jobs_created(&ids, seen);
    let Some(options) = wait else {
        seen.members(members.clone());
        return Outcome::Group(members);
    };
    let to_wait: Vec<JobId> = ids.iter().flatten().cloned().collect();
    seen.members(
        members
            .iter()
            .map(|m| match m.result {
                Ok(_) => Member::pending(m.id.clone()),
                Err(_) => m.clone(),
            })
            .collect(),
    );
    if to_wait.is_empty() || cancel.is_cancelled() {
        return Outcome::Group(members);
    }
    let left = options
        .timeout()
        .saturating_sub(started.elapsed())
        .max(Duration::from_millis(1));
    // Within bounds: at least 1 ms, at most the checked timeout.
    let left = WaitOptions::new(left, options.interval()).unwrap_or(options);
    match client.wait_all(&to_wait, &left, cancel, progress) {
        Ok(outcomes) => {
            let mut outcomes = outcomes.into_iter();
            for member in members.iter_mut().filter(|m| m.result.is_ok()) {
                if let Some(outcome) = outcomes.next() {
                    *member = Member::from_outcome(outcome);
                }
            }
            Outcome::Group(members)
        }
        Err(e) => Outcome::Failed(e),
    }
}
