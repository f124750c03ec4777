/*
 * The C11 test of ec3_gate_client_wait_all and the client's request budget,
 * run by ffi/tests/wait_all.rs against its local job service (the ec3-sim
 * simulator):
 *
 *   wait_all_test BASE_URL TAG VERSION [SLOWNESS]
 *
 * TAG makes this run's job ids unique; VERSION is the package version (not
 * used here); SLOWNESS multiplies the time limits (for valgrind). Prints
 * "ok - NAME" or "not ok - NAME" per scenario; exits 0 only when all passed.
 */
#define _POSIX_C_SOURCE 200809L

#include "ec3_gate.h"
#include "support.h"
#include "service.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Error texts start with the argument they are about. */
static void check_prefix(const char *file, int line, const char *expr,
                         const char *got, const char *prefix) {
  if (got == NULL || strncmp(got, prefix, strlen(prefix)) != 0) {
    fail_at(file, line, "%s is \"%s\", want it to start with \"%s\"", expr,
            got ? got : "(NULL)", prefix);
  }
}

#define CHECK_PREFIX(got, prefix)                                              \
  check_prefix(__FILE__, __LINE__, #got, (got), (prefix))

/* Never dereferenced: tells whether an array element was left untouched. */
static char sentinel_byte;
#define SENTINEL_JOB ((ec3_gate_job *)(void *)&sentinel_byte)
#define SENTINEL_RESULT ((ec3_gate_result)12345)

#define MAX_JOBS 8

/* Job ids unique to this run: PREFIX-TAG-NAME. */
struct ids {
  char text[MAX_JOBS][96];
  const char *ptr[MAX_JOBS];
};

static void set_id(struct ids *ids, size_t i, const char *prefix,
                   const char *name) {
  ids->ptr[i] = job_id(ids->text[i], sizeof ids->text[i], prefix, name);
}

static ec3_gate_client *client_with_budget(uint32_t per_minute) {
  ec3_gate_client_options *options = options_with_token("c-token");
  ec3_gate_client *client = NULL;
  if (per_minute != 0) {
    CHECK_CODE(
        ec3_gate_client_options_set_max_requests_per_minute(options, per_minute),
        EC3_GATE_RESULT_OK);
  }
  CHECK_CODE(ec3_gate_client_new(options, &client), EC3_GATE_RESULT_OK);
  ec3_gate_client_options_free(options);
  return client;
}

/* How a group waits: the other fields zero (their defaults). */
static ec3_gate_wait_params wait_params(uint64_t timeout_ms,
                                        uint64_t interval_ms) {
  ec3_gate_wait_params p = {.struct_size = sizeof p};
  p.timeout_ms = timeout_ms;
  p.interval_ms = interval_ms;
  return p;
}

static void fill_sentinels(ec3_gate_job **jobs, ec3_gate_result *results) {
  size_t i;
  for (i = 0; i < MAX_JOBS; i++) {
    jobs[i] = SENTINEL_JOB;
    results[i] = SENTINEL_RESULT;
  }
}

static void free_jobs(ec3_gate_job **jobs, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) {
    ec3_gate_job_free(jobs[i]);
    jobs[i] = NULL;
  }
}

/* ---- progress: which positions changed status, and to what ---- */

struct seen {
  int changes[MAX_JOBS];
  uint32_t last_status[MAX_JOBS];
  int bad_index;
  const ec3_gate_cancel *cancel_when_first_succeeds;
};

static void on_progress(const ec3_gate_progress *event, void *user_data) {
  struct seen *seen = (struct seen *)user_data;
  if (event->kind != EC3_GATE_PROGRESS_KIND_STATUS_CHANGED) {
    return;
  }
  if (event->job_index >= MAX_JOBS) {
    seen->bad_index++;
    return;
  }
  seen->changes[event->job_index]++;
  seen->last_status[event->job_index] = event->status;
  if (seen->cancel_when_first_succeeds != NULL && event->job_index == 0 &&
      event->status == EC3_GATE_STATUS_SUCCEEDED) {
    ec3_gate_cancel_trigger(seen->cancel_when_first_succeeds);
  }
}

/* ---- scenarios ---- */

/* Succeeded, Failed, not found, never ends, and a duplicate: each position
 * gets its own outcome; the call returns NOT_FOUND by the precedence. The
 * largest budget: at the default one, four jobs would be paced a second
 * apart, past this short timeout. */
static void test_mixed_outcomes(void) {
  ec3_gate_client *client = client_with_budget(EC3_GATE_MAX_REQUESTS_PER_MINUTE);
  struct ids ids;
  ec3_gate_job *jobs[MAX_JOBS];
  ec3_gate_result results[MAX_JOBS];
  struct seen seen;
  ec3_gate_wait_params p = wait_params(limit_ms(1500), 20);
  memset(&seen, 0, sizeof seen);
  p.progress = on_progress;
  p.user_data = &seen;
  set_id(&ids, 0, "ok", "mixed");
  set_id(&ids, 1, "fail", "mixed");
  set_id(&ids, 2, "gone", "mixed");
  set_id(&ids, 3, "slow", "mixed");
  set_id(&ids, 4, "ok", "mixed");
  fill_sentinels(jobs, results);

  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 5, &p, jobs, results),
             EC3_GATE_RESULT_NOT_FOUND);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "job_ids[2] (gone-");
  /* The structured accessors say what wait_with says for the same 404. */
  CHECK(ec3_gate_client_last_error_http_status(client) == 404);
  CHECK(ec3_gate_client_last_error_service_code(client) != NULL &&
        strcmp(ec3_gate_client_last_error_service_code(client), "JobNotFound") == 0);

  CHECK_CODE(results[0], EC3_GATE_RESULT_OK);
  CHECK_CODE(results[1], EC3_GATE_RESULT_JOB_FAILED);
  CHECK_CODE(results[2], EC3_GATE_RESULT_NOT_FOUND);
  CHECK_CODE(results[3], EC3_GATE_RESULT_TIMED_OUT);
  CHECK_CODE(results[4], EC3_GATE_RESULT_OK);
  CHECK(results[5] == SENTINEL_RESULT && jobs[5] == SENTINEL_JOB);

  CHECK(ec3_gate_job_status(jobs[0]) == EC3_GATE_STATUS_SUCCEEDED);
  CHECK(ec3_gate_job_ec3_project_url(jobs[0]) != NULL);
  CHECK(ec3_gate_job_status(jobs[1]) == EC3_GATE_STATUS_FAILED);
  CHECK(ec3_gate_job_message(jobs[1]) != NULL);
  CHECK(jobs[2] == NULL);
  /* A timed-out job still shows how far it got. */
  CHECK(ec3_gate_job_status(jobs[3]) == EC3_GATE_STATUS_RUNNING);
  /* A duplicate gets a job of its own (freed on its own). */
  CHECK(jobs[4] != NULL && jobs[4] != jobs[0]);
  CHECK(ec3_gate_job_status(jobs[4]) == EC3_GATE_STATUS_SUCCEEDED);

  /* Reports name the first position of a duplicate, never another. */
  CHECK(seen.bad_index == 0);
  CHECK(seen.changes[0] >= 3); /* Queued, Running, Succeeded */
  CHECK(seen.changes[4] == 0);
  CHECK(seen.last_status[0] == EC3_GATE_STATUS_SUCCEEDED);
  CHECK(seen.last_status[1] == EC3_GATE_STATUS_FAILED);
  CHECK(seen.changes[2] == 0);
  CHECK(seen.last_status[3] == EC3_GATE_STATUS_RUNNING);

  free_jobs(jobs, 5);
  ec3_gate_client_free(client);
}

/* A Failed job and one still running at the deadline: TIMED_OUT, not
 * JOB_FAILED, which comes out only when every job that did not succeed
 * Failed. */
static void test_failed_is_last(void) {
  ec3_gate_client *client = client_with_budget(EC3_GATE_MAX_REQUESTS_PER_MINUTE);
  struct ids ids;
  ec3_gate_job *jobs[MAX_JOBS];
  ec3_gate_result results[MAX_JOBS];
  set_id(&ids, 0, "fail", "last");
  ec3_gate_wait_params p = wait_params(limit_ms(800), 20);
  set_id(&ids, 1, "slow", "last");
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 2, &p, jobs, results),
             EC3_GATE_RESULT_TIMED_OUT);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "job_ids[1] (slow-");
  CHECK_CODE(results[0], EC3_GATE_RESULT_JOB_FAILED);
  CHECK_CODE(results[1], EC3_GATE_RESULT_TIMED_OUT);
  free_jobs(jobs, 2);
  /* Failed beside a success: JOB_FAILED. */
  set_id(&ids, 0, "ok", "last-b");
  set_id(&ids, 1, "fail", "last-b");
  p = wait_params(limit_ms(10000), 20);
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 2, &p, jobs, results),
             EC3_GATE_RESULT_JOB_FAILED);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "job_ids[1] (fail-");
  free_jobs(jobs, 2);
  ec3_gate_client_free(client);
}

static void test_all_succeed(void) {
  ec3_gate_client *client = client_with_budget(0);
  struct ids ids;
  ec3_gate_job *jobs[MAX_JOBS];
  ec3_gate_result results[MAX_JOBS];
  set_id(&ids, 0, "ok", "all-a");
  ec3_gate_wait_params p = wait_params(limit_ms(10000), 20);
  set_id(&ids, 1, "flaky", "all-b");
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 2, &p, jobs, results),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(results[0], EC3_GATE_RESULT_OK);
  CHECK_CODE(results[1], EC3_GATE_RESULT_OK);
  CHECK(strcmp(ec3_gate_client_last_error(client), "") == 0);
  free_jobs(jobs, 2);
  ec3_gate_client_free(client);
}

/* A cancel returns everything known: the finished job and the last answer
 * about the unfinished one. */
static void test_cancel_keeps_what_is_known(void) {
  ec3_gate_client *client = client_with_budget(0);
  ec3_gate_cancel *cancel = ec3_gate_cancel_new();
  struct ids ids;
  ec3_gate_job *jobs[MAX_JOBS];
  ec3_gate_result results[MAX_JOBS];
  struct seen seen;
  memset(&seen, 0, sizeof seen);
  seen.cancel_when_first_succeeds = cancel;
  set_id(&ids, 0, "ok", "cancel");
  ec3_gate_wait_params p = wait_params(limit_ms(60000), 20);
  p.progress = on_progress;
  p.user_data = &seen;
  p.cancel = cancel;
  set_id(&ids, 1, "slow", "cancel");
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 2, &p, jobs, results),
             EC3_GATE_RESULT_CANCELLED);
  CHECK_CODE(results[0], EC3_GATE_RESULT_OK);
  CHECK_CODE(results[1], EC3_GATE_RESULT_CANCELLED);
  CHECK(ec3_gate_job_status(jobs[0]) == EC3_GATE_STATUS_SUCCEEDED);
  CHECK(ec3_gate_job_status(jobs[1]) == EC3_GATE_STATUS_RUNNING);
  free_jobs(jobs, 2);
  ec3_gate_cancel_free(cancel);
  ec3_gate_client_free(client);
}

/* The budget set on the options is the client's: 2 requests a minute stop
 * a job that needs 4 polls, which the default budget lets through. */
static void test_budget_is_applied(void) {
  ec3_gate_client *tight = client_with_budget(2);
  ec3_gate_client *roomy = client_with_budget(EC3_GATE_DEFAULT_MAX_REQUESTS_PER_MINUTE);
  struct ids ids;
  ec3_gate_job *jobs[MAX_JOBS];
  ec3_gate_result results[MAX_JOBS];
  ec3_gate_wait_params p = wait_params(limit_ms(1500), 10);
  set_id(&ids, 0, "ok", "budget-tight");
  CHECK_CODE(ec3_gate_client_wait_all(tight, ids.ptr, 1, &p, jobs, results),
             EC3_GATE_RESULT_TIMED_OUT);
  CHECK(ec3_gate_job_status(jobs[0]) == EC3_GATE_STATUS_RUNNING);
  free_jobs(jobs, 1);
  set_id(&ids, 0, "ok", "budget-roomy");
  p = wait_params(limit_ms(10000), 10);
  CHECK_CODE(ec3_gate_client_wait_all(roomy, ids.ptr, 1, &p, jobs, results),
             EC3_GATE_RESULT_OK);
  free_jobs(jobs, 1);
  ec3_gate_client_free(tight);
  ec3_gate_client_free(roomy);
}

static void test_budget_bounds(void) {
  uint32_t bad[] = {0, EC3_GATE_MAX_REQUESTS_PER_MINUTE + 1, UINT32_MAX};
  size_t i;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    ec3_gate_client_options *options = options_with_token("c-token");
    ec3_gate_client *client = NULL;
    CHECK_CODE(ec3_gate_client_options_set_max_requests_per_minute(options, bad[i]),
               EC3_GATE_RESULT_OK);
    CHECK_CODE(ec3_gate_client_new(options, &client),
               EC3_GATE_RESULT_INVALID_ARGUMENT);
    CHECK(client == NULL);
    CHECK_PREFIX(ec3_gate_client_options_last_error(options),
                 "max requests per minute:");
    ec3_gate_client_options_free(options);
  }
  CHECK_CODE(ec3_gate_client_options_set_max_requests_per_minute(NULL, 10),
             EC3_GATE_RESULT_NULL_ARGUMENT);
}

static void check_untouched(ec3_gate_job **jobs, ec3_gate_result *results) {
  size_t i;
  for (i = 0; i < MAX_JOBS; i++) {
    CHECK(jobs[i] == SENTINEL_JOB && results[i] == SENTINEL_RESULT);
  }
}

/* Refused arguments leave both arrays untouched. */
static void test_null_and_invalid_arguments(void) {
  ec3_gate_client *client = client_with_budget(0);
  struct ids ids;
  ec3_gate_job *jobs[MAX_JOBS];
  ec3_gate_result results[MAX_JOBS];
  ec3_gate_wait_params p = wait_params(1000, 20);
  set_id(&ids, 0, "ok", "args");
  ids.ptr[1] = "not/a/job";
  fill_sentinels(jobs, results);

  CHECK_CODE(ec3_gate_client_wait_all(NULL, ids.ptr, 1, &p, jobs, results),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait_all(client, NULL, 1, &p, jobs, results),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, &p, NULL, results),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, &p, jobs, NULL),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 0, &p, jobs, results),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "n:");
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 2, &p, jobs, results),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "job_ids[1]: invalid job id");
  ids.ptr[1] = NULL;
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 2, &p, jobs, results),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "job_ids[1] is NULL");
  /* Out of range (0 would mean the default). */
  p = wait_params((uint64_t)EC3_GATE_MAX_TIMEOUT_MS + 1, 20);
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, &p, jobs, results),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "timeout_ms:");
  p = wait_params(1000, EC3_GATE_MIN_INTERVAL_MS - 1);
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, &p, jobs, results),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "interval_ms:");
  check_untouched(jobs, results);
  ec3_gate_client_free(client);
}

/* The params struct is read as ec3_gate_client_wait_with reads it: NULL and
 * zero fields are the defaults; a struct_size too small, or a newer struct
 * with fields this library does not know set, is refused before the wait,
 * the arrays untouched. A job the service does not know ends a wait at its
 * first poll, whatever the defaults are. */
static void test_params_struct(void) {
  ec3_gate_client *client = client_with_budget(0);
  struct ids ids;
  ec3_gate_job *jobs[MAX_JOBS];
  ec3_gate_result results[MAX_JOBS];
  ec3_gate_wait_params p = wait_params(limit_ms(10000), 20);
  struct {
    ec3_gate_wait_params known;
    uint64_t added;
  } newer;
  set_id(&ids, 0, "ok", "params");
  fill_sentinels(jobs, results);

  p.struct_size = sizeof(size_t);
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, &p, jobs, results),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "params: struct_size is ");
  p.struct_size = 0;
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, &p, jobs, results),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "params: struct_size is 0");
  memset(&newer, 0, sizeof newer);
  newer.known = wait_params(limit_ms(10000), 20);
  newer.known.struct_size = sizeof newer;
  newer.added = 1;
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, &newer.known, jobs,
                                      results),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "params: sets fields");
  check_untouched(jobs, results);

  /* A newer struct whose unknown fields are zero: accepted. */
  newer.added = 0;
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, &newer.known, jobs,
                                      results),
             EC3_GATE_RESULT_OK);
  CHECK(ec3_gate_job_status(jobs[0]) == EC3_GATE_STATUS_SUCCEEDED);
  free_jobs(jobs, 1);

  /* NULL params, and a struct of zeros: the defaults. */
  set_id(&ids, 0, "gone", "params-null");
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, NULL, jobs, results),
             EC3_GATE_RESULT_NOT_FOUND);
  CHECK_CODE(results[0], EC3_GATE_RESULT_NOT_FOUND);
  CHECK(jobs[0] == NULL);
  CHECK_PREFIX(ec3_gate_client_last_error(client), "job_ids[0] (gone-");
  memset(&p, 0, sizeof p);
  p.struct_size = sizeof p;
  set_id(&ids, 0, "gone", "params-zero");
  results[0] = SENTINEL_RESULT;
  CHECK_CODE(ec3_gate_client_wait_all(client, ids.ptr, 1, &p, jobs, results),
             EC3_GATE_RESULT_NOT_FOUND);
  CHECK_CODE(results[0], EC3_GATE_RESULT_NOT_FOUND);
  CHECK(jobs[0] == NULL);
  ec3_gate_client_free(client);
}

static const struct scenario scenarios[] = {
    SCENARIO(mixed_outcomes)
    SCENARIO(failed_is_last)
    SCENARIO(all_succeed)
    SCENARIO(cancel_keeps_what_is_known)
    SCENARIO(budget_is_applied)
    SCENARIO(budget_bounds)
    SCENARIO(null_and_invalid_arguments)
    SCENARIO(params_struct)
};

int main(int argc, char **argv) {
  if (!read_arguments(argc, argv, 4, "BASE_URL TAG VERSION [SLOWNESS]")) {
    return 2;
  }
  return RUN_SCENARIOS(scenarios);
}
