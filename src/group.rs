//! Many jobs, one gate: waiting for several jobs under one deadline, on one
//! connection, with one token and one request budget; and which job decides
//! the result of a group whose jobs ended differently.
//!
//! A one-job [`Client::wait`] runs the same loop, so there is one polling
//! loop in the crate.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::client::{Call, Method, Policy, Step, starts_in_time};
use crate::retry::{Backoff, jitter};
use crate::{
    Cancel, Client, Error, ErrorKind, Event, Job, JobId, JobStatus, Observer, WaitOptions,
};

/// What a group wait learnt about one of its jobs.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobOutcome {
    /// The job, as given.
    pub id: JobId,
    /// What [`Client::wait`] would have returned for this job alone: `Ok`
    /// once it is `Succeeded` or `Failed` (look at the status), else why the
    /// wait for it ended: [`Error::TimedOut`], [`Error::JobNotFound`],
    /// [`Error::Cancelled`], a service or network error, ….
    pub result: Result<Job, Error>,
    /// The service's last answer about the job, whatever the result (so a
    /// timed-out or cancelled job still shows how far it got); `None` when
    /// it never answered with the job.
    pub last_seen: Option<Job>,
}

/// Where a result stands among those that decide a group's result (lower
/// decides first); `None` for a success.
///
/// Every [`ErrorKind`] is named: a new one must be placed here on purpose.
fn rank<T>(result: &Result<T, Error>, succeeded: impl Fn(&T) -> bool) -> Option<u8> {
    match result {
        Ok(value) if succeeded(value) => None,
        // A finished job that did not succeed: `Failed`, last.
        Ok(_) => Some(7),
        Err(error) => Some(match error.kind() {
            // A failed extraction is the service's verdict too, as `Failed`.
            ErrorKind::Failed => 7,
            ErrorKind::Cancelled => 0,
            ErrorKind::Usage => 1,
            ErrorKind::Auth => 2,
            ErrorKind::NotFound => 3,
            ErrorKind::Rejected => 4,
            ErrorKind::Service => 5,
            ErrorKind::TimedOut => 6,
        }),
    }
}

/// The position of the result that decides the result of a group: the
/// first, in the precedence below, of those that did not succeed; on a tie
/// the earliest given. `None` when every one succeeded (or there are none):
/// only then does the group succeed. `succeeded` tells a success from a
/// `Failed` job among the `Ok`s (say, `|job| job.status ==
/// JobStatus::Succeeded`; a job created and not waited for succeeded).
///
/// The command exits with that result's status and the C library returns
/// its code, each as it would for that job alone. The precedence, first to
/// last, and why:
/// 1. [`ErrorKind::Cancelled`]: the run itself did not finish, which says
///    more than any one job;
/// 2. [`ErrorKind::Usage`], [`ErrorKind::Auth`]: the gate itself is
///    misconfigured; it likely broke every job and hides what the others
///    would have said;
/// 3. [`ErrorKind::NotFound`], [`ErrorKind::Rejected`]: a wrong id or
///    request in the input;
/// 4. [`ErrorKind::Service`]: a service or network error;
/// 5. [`ErrorKind::TimedOut`]: a job still unfinished at the deadline;
/// 6. a `Failed` job, last; with it an extraction that did not succeed
///    ([`ErrorKind::Failed`]: no job was created for it, and the service
///    said no just as clearly).
///
/// A `Failed` job is the gate's clean verdict: the service finished the
/// job and said no. Every other way a job can end is something the gate
/// could not decide, and it outranks that verdict. So when the result is
/// `Failed` (exit status 1, `EC3_GATE_RESULT_JOB_FAILED`), every job that
/// did not succeed `Failed`: `fail-on-failed: false`, and any script that
/// lets a `Failed` job pass, can trust it and never lets a timeout or an
/// error through with it.
pub fn deciding_result<'a, T: 'a>(
    results: impl IntoIterator<Item = &'a Result<T, Error>>,
    succeeded: impl Fn(&T) -> bool,
) -> Option<usize> {
    results
        .into_iter()
        .enumerate()
        .filter_map(|(i, result)| rank(result, &succeeded).map(|rank| (rank, i)))
        .min()
        .map(|(_, i)| i)
}

/// [`deciding_result`] of a group wait's outcomes: the position of the
/// outcome that decides the group's result; `None` when every job
/// `Succeeded`.
pub fn deciding_outcome(outcomes: &[JobOutcome]) -> Option<usize> {
    deciding_result(outcomes.iter().map(|o| &o.result), |job| {
        job.status == JobStatus::Succeeded
    })
}

impl Client {
    /// Waits for every job of `jobs` under one deadline (`options.timeout`),
    /// on this client's one connection, token and request budget, and
    /// returns one outcome per id, in the order given.
    ///
    /// Each job is polled no more often than `options.interval` (plus its
    /// jitter), and not at all once it is `Succeeded` or `Failed` or has
    /// failed for good. When the budget
    /// ([`Config::max_requests_per_minute`](crate::Config::max_requests_per_minute))
    /// is too short for that (N jobs need N × 60 s / interval a minute), the
    /// polls are paced evenly through it instead, each job about every
    /// N × 60 s / budget, the first round too: never a burst followed by a
    /// silence. The job that has waited longest goes first, so every job
    /// gets its turn. A transient failure backs off that job
    /// alone; a 429 or `Retry-After` pauses the whole client. Each job's
    /// outcome is what [`Client::wait`] would say of it alone.
    ///
    /// An id given more than once is polled once and reported at each of its
    /// positions: a list assembled by a script may repeat an id, and that is
    /// no reason to fail a gate nor to spend the budget twice.
    ///
    /// Events come wrapped in [`Event::ForJob`] (with an [`Event::Ended`] as
    /// each job's wait ends); token and token-request events come bare.
    ///
    /// A cancel ends the wait at once: jobs still unfinished then get
    /// [`Error::Cancelled`] and keep their last answer, so everything known
    /// is returned. `Err` only when nothing was sent: an empty list.
    pub fn wait_all(
        &self,
        jobs: &[JobId],
        options: &WaitOptions,
        cancel: &Cancel,
        observer: &mut dyn Observer,
    ) -> Result<Vec<JobOutcome>, Error> {
        if jobs.is_empty() {
            return Err(Error::config("job ids", "at least one job id is needed"));
        }
        let ran = self.run_to_end(options.timeout(), cancel, observer, |client, call| {
            client.poll(call, jobs, options, true)
        });
        match ran {
            Ok(outcomes) => Ok(outcomes),
            Err(Error::Cancelled) => Ok(jobs
                .iter()
                .map(|id| JobOutcome {
                    id: id.clone(),
                    result: Err(Error::Cancelled),
                    last_seen: None,
                })
                .collect()),
            Err(error) => Err(error),
        }
    }

    /// The polling loop of [`Client::wait`] and [`Client::wait_all`];
    /// `grouped` wraps the events in [`Event::ForJob`].
    pub(crate) fn poll(
        &self,
        call: &mut Call<'_>,
        ids: &[JobId],
        options: &WaitOptions,
        grouped: bool,
    ) -> Vec<JobOutcome> {
        let start = Instant::now();
        // The last poll starts this much before the deadline, so that it can
        // finish in time.
        let slack = (options.timeout() / 4).min(Duration::from_secs(1));
        let last_chance = call.deadline - slack;

        let mut first_position = HashMap::new();
        let mut polled: Vec<Polled> = Vec::new();
        let slot_of: Vec<usize> = ids
            .iter()
            .enumerate()
            .map(|(index, id)| {
                *first_position.entry(id).or_insert_with(|| {
                    polled.push(Polled::new(index, id, start));
                    polled.len() - 1
                })
            })
            .collect();

        // Several jobs and a budget too short to poll each every interval:
        // the polls are paced evenly through the budget (the first round
        // too), rather than spent in a burst followed by a silence that
        // outlasts the connection's idle time.
        let spacing = self.budget_spacing();
        let pace = |active: usize| match u32::try_from(active) {
            Ok(n) if n > 1 => options.interval().max(spacing.saturating_mul(n)),
            _ => options.interval(),
        };
        if pace(polled.len()) > options.interval() {
            for (k, job) in polled.iter_mut().enumerate() {
                job.due = start + spacing.saturating_mul(u32::try_from(k).unwrap_or(u32::MAX));
            }
        }

        // The unfinished job due first; on a tie, the first given. With
        // every job overdue (the budget is short), that is the one that has
        // waited longest: round robin.
        while let Some(i) = (0..polled.len())
            .filter(|&i| polled[i].end.is_none())
            .min_by_key(|&i| polled[i].due)
        {
            let now = Instant::now();
            if now >= call.deadline {
                end_all(&mut polled, call, grouped, Ended::Late);
                break;
            }
            if polled[i].due > now {
                if call.cancel.sleep(polled[i].due - now).is_err() {
                    end_all(&mut polled, call, grouped, Ended::Cancelled);
                    break;
                }
                continue;
            }
            let period = pace(polled.iter().filter(|j| j.end.is_none()).count());
            let job = &mut polled[i];
            let url = self.job_url(&job.id);
            let step = self.api_attempt(
                Method::Get,
                &url,
                None,
                Policy::Idempotent,
                &mut job.backoff,
                call,
            );
            match step {
                Step::Done(reply) => {
                    let answer = reply
                        .into_body(Error::JobNotFound)
                        .and_then(|body| Job::from_json(&body));
                    match answer {
                        Ok(answer) => {
                            job.answered(answer, call, grouped, start, last_chance, period);
                        }
                        Err(error) => job.end(Err(error), call, grouped),
                    }
                }
                Step::Retry { error, delay } => {
                    if starts_in_time(delay, call.deadline) {
                        job.emit(
                            call,
                            grouped,
                            Event::Retrying {
                                error: &error,
                                delay,
                            },
                        );
                        job.due = Instant::now() + delay;
                        job.failing = Some(error);
                    } else {
                        job.end(Err(error), call, grouped);
                    }
                }
                Step::Failed(Error::Cancelled) => {
                    end_all(&mut polled, call, grouped, Ended::Cancelled);
                    break;
                }
                Step::Failed(error) => job.end(Err(error), call, grouped),
                Step::Late => {
                    // The budget allows nothing more before the deadline;
                    // the wait still ends no sooner than its last chance
                    // to poll, as a wait's timeout promises.
                    let now = Instant::now();
                    if last_chance > now && call.cancel.sleep(last_chance - now).is_err() {
                        end_all(&mut polled, call, grouped, Ended::Cancelled);
                        break;
                    }
                    end_all(&mut polled, call, grouped, Ended::Late);
                    break;
                }
            }
        }

        slot_of
            .into_iter()
            .zip(ids)
            .map(|(slot, id)| {
                let job = &polled[slot];
                JobOutcome {
                    id: id.clone(),
                    result: job.end.clone().unwrap_or_else(|| {
                        Err(Error::Internal("a job was left unfinished".into()))
                    }),
                    last_seen: job.last_seen.clone(),
                }
            })
            .collect()
    }
}

/// Why unfinished jobs end all together.
#[derive(Clone, Copy)]
enum Ended {
    /// The deadline (or the budget) allows no more polls.
    Late,
    /// The caller cancelled.
    Cancelled,
}

/// Ends every unfinished job: a cancel as [`Error::Cancelled`]; the deadline
/// as the error a failing job kept meeting, else [`Error::TimedOut`].
fn end_all(polled: &mut [Polled], call: &mut Call<'_>, grouped: bool, why: Ended) {
    for job in polled.iter_mut().filter(|j| j.end.is_none()) {
        let error = match why {
            Ended::Cancelled => Error::Cancelled,
            Ended::Late => job.failing.take().unwrap_or(Error::TimedOut),
        };
        job.end(Err(error), call, grouped);
    }
}

/// One distinct job of a wait, and what is known of it.
struct Polled {
    /// Its first position among the ids given.
    index: usize,
    id: JobId,
    /// When it may be polled next.
    due: Instant,
    backoff: Backoff,
    last_seen: Option<Job>,
    /// The error of its last poll, while it is retried.
    failing: Option<Error>,
    /// Status values this version does not know, reported once each.
    unknown: HashSet<String>,
    end: Option<Result<Job, Error>>,
}

impl Polled {
    fn new(index: usize, id: &JobId, due: Instant) -> Self {
        Self {
            index,
            id: id.clone(),
            due,
            backoff: Backoff::new(),
            last_seen: None,
            failing: None,
            unknown: HashSet::new(),
            end: None,
        }
    }

    /// The service answered with the job: report it, then end the wait
    /// for it (finished, or no time left) or plan the next poll, `period`
    /// from now (plus jitter).
    fn answered(
        &mut self,
        job: Job,
        call: &mut Call<'_>,
        grouped: bool,
        start: Instant,
        last_chance: Instant,
        period: Duration,
    ) {
        let elapsed = start.elapsed();
        if let JobStatus::Other(value) = &job.status {
            if self.unknown.insert(value.clone()) {
                self.emit(call, grouped, Event::UnknownStatus(value));
            }
        }
        let previous = self.last_seen.as_ref().map(|j| &j.status);
        if previous != Some(&job.status) {
            self.emit(call, grouped, Event::StatusChanged { job: &job, elapsed });
        }
        self.emit(call, grouped, Event::Polled { job: &job, elapsed });
        self.failing = None;
        self.backoff = Backoff::new();
        self.last_seen = Some(job.clone());
        if job.status.is_terminal() {
            return self.end(Ok(job), call, grouped);
        }
        let now = Instant::now();
        if now >= last_chance {
            return self.end(Err(Error::TimedOut), call, grouped);
        }
        let step = period + jitter((period / 10).min(Duration::from_secs(1)));
        self.due = now
            .checked_add(step)
            .map_or(last_chance, |t| t.min(last_chance));
    }

    fn end(&mut self, result: Result<Job, Error>, call: &mut Call<'_>, grouped: bool) {
        if grouped {
            self.emit(call, grouped, Event::Ended(&result));
        }
        self.end = Some(result);
    }

    fn emit(&self, call: &mut Call<'_>, grouped: bool, event: Event<'_>) {
        if grouped {
            call.observer.on_event(Event::ForJob {
                index: self.index,
                id: &self.id,
                event: &event,
            });
        } else {
            call.observer.on_event(event);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(result: Result<JobStatus, Error>) -> JobOutcome {
        let id = JobId::new("job").unwrap();
        JobOutcome {
            id: id.clone(),
            result: result.map(|status| Job {
                status,
                ec3_project_url: None,
                message: None,
            }),
            last_seen: None,
        }
    }

    #[test]
    fn the_precedence_is_pinned() {
        let ok = || outcome(Ok(JobStatus::Succeeded));
        // First to last, one of each kind of outcome that fails a group.
        let order = || {
            vec![
                outcome(Err(Error::Cancelled)),
                outcome(Err(Error::NoCredentials)),
                outcome(Err(Error::AuthRefused {
                    status: 401,
                    detail: Default::default(),
                })),
                outcome(Err(Error::JobNotFound(Default::default()))),
                outcome(Err(Error::Rejected {
                    status: 400,
                    detail: Default::default(),
                })),
                outcome(Err(Error::Network(Box::new(crate::NetError::new(
                    crate::Role::Api,
                    "api.example",
                    443,
                    crate::Phase::Read,
                    crate::Cause::Reset,
                ))))),
                outcome(Err(Error::TimedOut)),
                outcome(Ok(JobStatus::Failed)),
            ]
        };
        assert_eq!(deciding_outcome(&[]), None);
        assert_eq!(deciding_outcome(&[ok(), ok()]), None);
        let n = order().len();
        for high in 0..n {
            for low in high + 1..n {
                let mut o = order();
                // low, ok, high, low: `high` decides, wherever it stands.
                let group = vec![
                    o.remove(low),
                    ok(),
                    o.remove(high),
                    outcome(Ok(JobStatus::Failed)),
                ];
                assert_eq!(deciding_outcome(&group), Some(2), "{high} before {low}");
            }
            let mut o = order();
            assert_eq!(deciding_outcome(&[ok(), o.remove(high), ok()]), Some(1));
        }
        // A tie goes to the first given.
        let twice = [
            ok(),
            outcome(Ok(JobStatus::Failed)),
            outcome(Ok(JobStatus::Failed)),
        ];
        assert_eq!(deciding_outcome(&twice), Some(1));
    }
}
