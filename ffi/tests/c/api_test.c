/*
 * The C11 test of libec3_gate, run by ffi/tests/c_api.rs against its local
 * job service (the ec3-sim simulator):
 *
 *   api_test BASE_URL TAG VERSION [SLOWNESS]
 *
 * BASE_URL is the service (API root and IMS authority), TAG makes this run's
 * job ids unique, VERSION is the package version from Cargo.toml, SLOWNESS
 * multiplies the time limits (for valgrind). Prints "ok - NAME" or
 * "not ok - NAME" per scenario; exits 0 only when all passed.
 */
#define _POSIX_C_SOURCE 200809L

/* This program also tests the deprecated flat calls, which stay until 1.0. */
#define EC3_GATE_NO_DEPRECATED
#include "ec3_gate.h"
#include "support.h"
#include "api_scenarios.h"
#include "service.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Never dereferenced: tells whether an out-param was left untouched. */
static char sentinel_byte;
#define SENTINEL_JOB ((ec3_gate_job *)(void *)&sentinel_byte)
#define SENTINEL_CLIENT ((ec3_gate_client *)(void *)&sentinel_byte)
#define SENTINEL_STRING (&sentinel_byte)

#define EXTRACTION_ID "extraction-1"

/* ---- progress recording ---- */

#define MAX_EVENTS 16

struct recorder {
  int magic;
  int count;
  uint32_t kinds[MAX_EVENTS];
  uint32_t statuses[MAX_EVENTS];
  uint64_t elapsed[MAX_EVENTS];
  uint32_t errors[MAX_EVENTS];
  char texts[MAX_EVENTS][64];
  const ec3_gate_cancel *cancel_on_running;
};

#define RECORDER_MAGIC 0x3c3

static void record(const ec3_gate_progress *event, void *user_data) {
  struct recorder *r = (struct recorder *)user_data;
  CHECK(r != NULL && r->magic == RECORDER_MAGIC);
  CHECK(event != NULL);
  if (r == NULL || event == NULL || r->count == MAX_EVENTS) {
    return;
  }
  r->kinds[r->count] = event->kind;
  r->statuses[r->count] = event->status;
  r->elapsed[r->count] = event->elapsed_ms;
  r->errors[r->count] = event->error;
  if (event->kind == EC3_GATE_PROGRESS_KIND_STATUS_CHANGED) {
    CHECK(event->job != NULL);
    CHECK(ec3_gate_job_status(event->job) == event->status);
    snprintf(r->texts[r->count], sizeof r->texts[0], "%s",
             ec3_gate_job_status_text(event->job));
    if (event->status == EC3_GATE_STATUS_RUNNING && r->cancel_on_running) {
      CHECK_CODE(ec3_gate_cancel_trigger(r->cancel_on_running),
                 EC3_GATE_RESULT_OK);
    }
  } else if (event->kind == EC3_GATE_PROGRESS_KIND_RETRYING) {
    CHECK(event->job == NULL);
    CHECK(event->detail != NULL);
    snprintf(r->texts[r->count], sizeof r->texts[0], "%s",
             event->detail ? event->detail : "");
  }
  r->count++;
}

/* ---- a thread that triggers a cancel after a delay ---- */

struct canceller {
  const ec3_gate_cancel *cancel;
  unsigned delay_ms;
  uint64_t triggered_at;
};

static void *cancel_later(void *arg) {
  struct canceller *c = (struct canceller *)arg;
  sleep_ms(c->delay_ms);
  c->triggered_at = now_ms();
  if (ec3_gate_cancel_trigger(c->cancel) != EC3_GATE_RESULT_OK) {
    c->triggered_at = 0;
  }
  return NULL;
}

/* ---- scenarios ---- */

static void test_version(void) {
  char macros[64];
  snprintf(macros, sizeof macros, "%d.%d.%d", EC3_GATE_VERSION_MAJOR,
           EC3_GATE_VERSION_MINOR, EC3_GATE_VERSION_PATCH);
  CHECK_STR(macros, version);
  CHECK_STR(EC3_GATE_VERSION_STRING, version);
  CHECK_STR(ec3_gate_version(), version);
}

static void test_success_with_link(void) {
  char id[128], want[256];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = NULL;
  job_id(id, sizeof id, "ok", "success");
  CHECK_CODE(ec3_gate_client_wait(client, id, 30000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_OK);
  CHECK(job != NULL);
  CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_SUCCEEDED);
  CHECK_STR(ec3_gate_job_status_text(job), "Succeeded");
  snprintf(want, sizeof want,
           "https://buildingtransparency.org/ec3/buildings/%s?view=custom", id);
  CHECK_STR(ec3_gate_job_ec3_project_url(job), want);
  CHECK(ec3_gate_job_message(job) == NULL);
  CHECK_STR(ec3_gate_client_last_error(client), "");
  ec3_gate_job_free(job);
  ec3_gate_client_free(client);
}

static void test_failure_with_message(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = NULL;
  CHECK_CODE(ec3_gate_client_wait(client, job_id(id, sizeof id, "fail", "f"),
                                  30000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_JOB_FAILED);
  CHECK(job != NULL);
  CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_FAILED);
  CHECK_STR(ec3_gate_job_message(job),
            "EC3 rejected the report:\nproject name already exists");
  CHECK(ec3_gate_job_ec3_project_url(job) == NULL);
  /* The last error is one line: the newline is escaped. */
  CHECK_STR(ec3_gate_client_last_error(client),
            "job failed: EC3 rejected the report:\\nproject name already "
            "exists");
  ec3_gate_job_free(job);
  ec3_gate_client_free(client);
}

static void test_not_found(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = SENTINEL_JOB;
  job_id(id, sizeof id, "missing", "nf");
  CHECK_CODE(ec3_gate_client_wait(client, id, 30000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_NOT_FOUND);
  CHECK(job == SENTINEL_JOB);
  CHECK_STR(ec3_gate_client_last_error(client),
            "job not found (HTTP 404 JobNotFound: Requested EC3 Job is not "
            "available.)");
  CHECK_CODE(ec3_gate_client_job_status(client, id, 5000, NULL, &job),
             EC3_GATE_RESULT_NOT_FOUND);
  CHECK(job == SENTINEL_JOB);
  ec3_gate_client_free(client);
}

static void test_auth_refused(void) {
  char id[128];
  ec3_gate_job *job = SENTINEL_JOB;
  ec3_gate_client *denied = client_with_token("denied");
  ec3_gate_client *expired = client_with_token("Bearer expired");
  ec3_gate_client_options *options = ec3_gate_client_options_new();
  ec3_gate_client *app = NULL;

  job_id(id, sizeof id, "ok", "auth");
  CHECK_CODE(ec3_gate_client_wait(denied, id, 30000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_AUTH);
  CHECK_CONTAINS(ec3_gate_client_last_error(denied), "HTTP 403");
  CHECK_CODE(ec3_gate_client_job_status(expired, id, 5000, NULL, &job),
             EC3_GATE_RESULT_AUTH);
  CHECK_CONTAINS(ec3_gate_client_last_error(expired), "HTTP 401");

  /* Client credentials: a wrong secret is refused by the token endpoint, and
   * the secret never shows up in the message. */
  CHECK_CODE(ec3_gate_client_options_set_api_url(options, base_url),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_authority(options, base_url),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_client_credentials(options, "c-app",
                                                            "wrong-s3cr3t"),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_new(options, &app), EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_wait(app, id, 30000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_AUTH);
  CHECK_CONTAINS(ec3_gate_client_last_error(app), "invalid_client");
  CHECK(strstr(ec3_gate_client_last_error(app), "s3cr3t") == NULL);
  CHECK(job == SENTINEL_JOB);
  ec3_gate_client_free(app);
  ec3_gate_client_options_free(options);
  ec3_gate_client_free(denied);
  ec3_gate_client_free(expired);
}

static void test_client_credentials(void) {
  char id[128];
  ec3_gate_client_options *options = ec3_gate_client_options_new();
  ec3_gate_client *client = NULL;
  ec3_gate_job *job = NULL;
  CHECK_CODE(ec3_gate_client_options_set_api_url(options, base_url),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_authority(options, base_url),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_scope(options, "itwin-platform"),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_client_credentials(options, "c-app",
                                                            "good-secret"),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_new(options, &client), EC3_GATE_RESULT_OK);
  /* Options are copied: freeing them does not affect the client. */
  ec3_gate_client_options_free(options);
  CHECK_CODE(ec3_gate_client_wait(client, job_id(id, sizeof id, "ok", "cc"),
                                  30000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_OK);
  CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_SUCCEEDED);
  ec3_gate_job_free(job);
  ec3_gate_client_free(client);
}

static void test_status_once(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = NULL;
  CHECK_CODE(ec3_gate_client_job_status(client,
                                        job_id(id, sizeof id, "ok", "once"),
                                        EC3_GATE_DEFAULT_STATUS_TIMEOUT_MS,
                                        NULL, &job),
             EC3_GATE_RESULT_OK);
  CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_QUEUED);
  CHECK_STR(ec3_gate_status_name(ec3_gate_job_status(job)), "Queued");
  ec3_gate_job_free(job);

  /* A status this version does not know. */
  CHECK_CODE(ec3_gate_client_job_status(client,
                                        job_id(id, sizeof id, "odd", "once"),
                                        5000, NULL, &job),
             EC3_GATE_RESULT_OK);
  CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_UNKNOWN);
  CHECK_STR(ec3_gate_job_status_text(job), "Paused");
  ec3_gate_job_free(job);
  ec3_gate_client_free(client);
}

static void test_timeout(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = SENTINEL_JOB;
  uint64_t start = now_ms();
  /* The last poll starts a tenth of the timeout before the deadline: keep
   * that slack well above one poll's time, also under valgrind. */
  CHECK_CODE(ec3_gate_client_wait(client, job_id(id, sizeof id, "slow", "t"),
                                  limit_ms(500), 50, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_TIMED_OUT);
  CHECK(now_ms() - start < limit_ms(2000));
  CHECK(job == SENTINEL_JOB);
  CHECK_STR(ec3_gate_client_last_error(client), "timed out waiting for the job");
  ec3_gate_client_free(client);
}

/* Cancels `prefix` job's wait from another thread after 300 ms. */
static void cancel_from_thread(const char *prefix, uint64_t interval_ms) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_cancel *cancel = ec3_gate_cancel_new();
  ec3_gate_job *job = SENTINEL_JOB;
  struct canceller c;
  pthread_t thread;
  uint64_t returned;

  c.cancel = cancel;
  c.delay_ms = 300;
  c.triggered_at = 0;
  CHECK(pthread_create(&thread, NULL, cancel_later, &c) == 0);
  CHECK_CODE(ec3_gate_client_wait(client, job_id(id, sizeof id, prefix, "c"),
                                  3600000, interval_ms, NULL, NULL, cancel,
                                  &job),
             EC3_GATE_RESULT_CANCELLED);
  returned = now_ms();
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(c.triggered_at != 0);
  /* Ended within a second of the trigger. */
  CHECK(returned - c.triggered_at < limit_ms(1000));
  CHECK(job == SENTINEL_JOB);
  CHECK(ec3_gate_cancel_is_triggered(cancel));
  CHECK_STR(ec3_gate_client_last_error(client), "cancelled");

  /* Still cancelled: a later call with it stops at once. */
  CHECK_CODE(ec3_gate_client_wait(client, job_id(id, sizeof id, "ok", "c2"),
                                  30000, 10, NULL, NULL, cancel, &job),
             EC3_GATE_RESULT_CANCELLED);
  /* The client stays usable. */
  CHECK_CODE(ec3_gate_client_wait(client,
                                  job_id(id, sizeof id, "ok", prefix), 30000,
                                  10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_OK);
  ec3_gate_job_free(job);
  ec3_gate_cancel_free(cancel);
  ec3_gate_client_free(client);
}

static void test_cancel_stalled_server(void) { cancel_from_thread("stall", 10); }

static void test_cancel_long_interval(void) {
  cancel_from_thread("slow", EC3_GATE_MAX_INTERVAL_MS);
}

static void test_cancel_from_callback(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_cancel *cancel = ec3_gate_cancel_new();
  ec3_gate_job *job = SENTINEL_JOB;
  struct recorder r;
  memset(&r, 0, sizeof r);
  r.magic = RECORDER_MAGIC;
  r.cancel_on_running = cancel;
  CHECK_CODE(ec3_gate_client_wait(client, job_id(id, sizeof id, "ok", "cb"),
                                  30000, 10, record, &r, cancel, &job),
             EC3_GATE_RESULT_CANCELLED);
  CHECK(r.count == 2);
  CHECK(job == SENTINEL_JOB);
  ec3_gate_cancel_free(cancel);
  ec3_gate_client_free(client);
}

static void test_progress_order(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = NULL;
  struct recorder r;
  int i;
  memset(&r, 0, sizeof r);
  r.magic = RECORDER_MAGIC;
  CHECK_CODE(ec3_gate_client_wait(client, job_id(id, sizeof id, "ok", "p"),
                                  30000, 10, record, &r, NULL, &job),
             EC3_GATE_RESULT_OK);
  /* Queued, Running (twice, reported once), Succeeded. */
  CHECK(r.count == 3);
  CHECK(r.statuses[0] == EC3_GATE_STATUS_QUEUED);
  CHECK(r.statuses[1] == EC3_GATE_STATUS_RUNNING);
  CHECK(r.statuses[2] == EC3_GATE_STATUS_SUCCEEDED);
  CHECK_STR(r.texts[0], "Queued");
  CHECK_STR(r.texts[1], "Running");
  CHECK_STR(r.texts[2], "Succeeded");
  for (i = 0; i < r.count; i++) {
    CHECK(r.kinds[i] == EC3_GATE_PROGRESS_KIND_STATUS_CHANGED);
    CHECK(r.errors[i] == EC3_GATE_RESULT_OK);
    CHECK(i == 0 || r.elapsed[i] >= r.elapsed[i - 1]);
  }
  ec3_gate_job_free(job);
  ec3_gate_client_free(client);
}

static void test_retry_progress(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = NULL;
  struct recorder r;
  memset(&r, 0, sizeof r);
  r.magic = RECORDER_MAGIC;
  CHECK_CODE(ec3_gate_client_wait(client, job_id(id, sizeof id, "flaky", "r"),
                                  30000, 10, record, &r, NULL, &job),
             EC3_GATE_RESULT_OK);
  CHECK(r.count == 4);
  CHECK(r.kinds[0] == EC3_GATE_PROGRESS_KIND_RETRYING);
  CHECK(r.errors[0] == EC3_GATE_RESULT_SERVICE);
  CHECK(r.statuses[0] == EC3_GATE_STATUS_UNKNOWN);
  CHECK_CONTAINS(r.texts[0], "HTTP 503");
  CHECK(r.kinds[1] == EC3_GATE_PROGRESS_KIND_STATUS_CHANGED);
  CHECK(r.statuses[1] == EC3_GATE_STATUS_QUEUED);
  CHECK(r.statuses[3] == EC3_GATE_STATUS_SUCCEEDED);
  ec3_gate_job_free(job);
  ec3_gate_client_free(client);
}

struct worker {
  ec3_gate_client *client;
  const char *id;
  ec3_gate_result code;
  char last_error[256];
};

static void *wait_in_thread(void *arg) {
  struct worker *w = (struct worker *)arg;
  ec3_gate_job *job = NULL;
  w->code = ec3_gate_client_wait(w->client, w->id, 30000, 10, NULL, NULL, NULL,
                                 &job);
  snprintf(w->last_error, sizeof w->last_error, "%s",
           ec3_gate_client_last_error(w->client));
  ec3_gate_job_free(job);
  return NULL;
}

static void test_threads_share_a_client(void) {
  char ids[4][128];
  const char *prefixes[4] = {"ok", "missing", "fail", "ok"};
  ec3_gate_result want[4] = {EC3_GATE_RESULT_OK, EC3_GATE_RESULT_NOT_FOUND,
                             EC3_GATE_RESULT_JOB_FAILED, EC3_GATE_RESULT_OK};
  ec3_gate_client *client = client_with_token("good-token");
  struct worker workers[4];
  pthread_t threads[4];
  int i;
  for (i = 0; i < 4; i++) {
    char name[16];
    snprintf(name, sizeof name, "thread%d", i);
    workers[i].client = client;
    workers[i].id = job_id(ids[i], sizeof ids[i], prefixes[i], name);
    CHECK(pthread_create(&threads[i], NULL, wait_in_thread, &workers[i]) == 0);
  }
  for (i = 0; i < 4; i++) {
    CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK_CODE(workers[i].code, want[i]);
  }
  /* Each thread saw its own last error. */
  CHECK_STR(workers[0].last_error, "");
  CHECK_CONTAINS(workers[1].last_error, "job not found");
  CHECK_CONTAINS(workers[2].last_error, "job failed");
  CHECK_STR(workers[3].last_error, "");
  /* This thread made no call on the client. */
  CHECK_STR(ec3_gate_client_last_error(client), "");
  ec3_gate_client_free(client);
}

/* ---- job creation ---- */

static void test_create_then_wait(void) {
  char cfg[128], want[160], link[256];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_cancel *cancel = ec3_gate_cancel_new();
  ec3_gate_job *job = NULL;
  char *report_id = NULL;
  char *extraction_job_id = NULL;

  /* Report-based: the service refuses an extractionId in this request. */
  snprintf(cfg, sizeof cfg, "cfg-%s-report", tag);
  CHECK_CODE(ec3_gate_client_create_job(client, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL,
                                        EC3_GATE_DEFAULT_CREATE_TIMEOUT_MS,
                                        NULL, &report_id),
             EC3_GATE_RESULT_OK);
  snprintf(want, sizeof want, "ok-%s", cfg);
  CHECK_STR(report_id, want);
  CHECK_STR(ec3_gate_client_last_error(client), "");
  CHECK_CODE(ec3_gate_client_wait(client, report_id, 30000, 10, NULL, NULL,
                                  NULL, &job),
             EC3_GATE_RESULT_OK);
  snprintf(link, sizeof link,
           "https://buildingtransparency.org/ec3/buildings/%s?view=custom",
           want);
  CHECK_STR(ec3_gate_job_ec3_project_url(job), link);
  ec3_gate_job_free(job);

  /* Extraction-based (the service requires the extractionId), with a cancel
   * handle that is never triggered. */
  snprintf(cfg, sizeof cfg, "cfg-%s-ext", tag);
  CHECK_CODE(ec3_gate_client_create_job(client, cfg, PROJECT_NAME, EC3_TOKEN,
                                        EXTRACTION_ID, 30000, cancel,
                                        &extraction_job_id),
             EC3_GATE_RESULT_OK);
  snprintf(want, sizeof want, "ok-%s", cfg);
  CHECK_STR(extraction_job_id, want);

  /* The id strings belong to the caller, not to the client. */
  ec3_gate_client_free(client);
  ec3_gate_cancel_free(cancel);
  CHECK_CONTAINS(report_id, "-report");
  ec3_gate_string_free(report_id);
  ec3_gate_string_free(extraction_job_id);
}

static void test_create_rejected(void) {
  char cfg[128], want[384];
  ec3_gate_client *client = client_with_token("good-token");
  char *id = SENTINEL_STRING;

  /* 422: the service's code and message, with the token it quoted back
   * hidden. */
  snprintf(cfg, sizeof cfg, "reject-%s", tag);
  CHECK_CODE(ec3_gate_client_create_job(client, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, 30000, NULL, &id),
             EC3_GATE_RESULT_REJECTED);
  CHECK(id == SENTINEL_STRING);
  snprintf(want, sizeof want,
           "request rejected as invalid (HTTP 422 InvalidEC3JobRequest: "
           "Configuration '%s' has no report to upload with EC3 token "
           "'***'.)",
           cfg);
  CHECK_STR(ec3_gate_client_last_error(client), want);
  CHECK(strstr(ec3_gate_client_last_error(client), "s3cr3t") == NULL);
  CHECK_STR(ec3_gate_strerror(EC3_GATE_RESULT_REJECTED),
            "the service rejected the request as invalid");

  /* An extraction id for a report-based configuration: refused on reading
   * the configuration, before the job is asked for. */
  snprintf(cfg, sizeof cfg, "cfg-%s-report", tag);
  CHECK_CODE(ec3_gate_client_create_job(client, cfg, PROJECT_NAME, EC3_TOKEN,
                                        EXTRACTION_ID, 30000, NULL, &id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  snprintf(want, sizeof want,
           "configuration '%s' is report-based (it uploads report "
           "'report-cfg-%s') and takes no extraction",
           cfg, tag);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), want);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "no job was created");
  CHECK(ec3_gate_client_last_error_http_status(client) == 0);
  CHECK(id == SENTINEL_STRING);
  ec3_gate_client_free(client);
}

static void test_create_retried_when_busy(void) {
  char cfg[128], want[160];
  ec3_gate_client *client = client_with_token("good-token");
  char *id = NULL;
  /* A 503 with Retry-After is safe to repeat: the second request made it. */
  snprintf(cfg, sizeof cfg, "busy-%s", tag);
  CHECK_CODE(ec3_gate_client_create_job(client, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, 30000, NULL, &id),
             EC3_GATE_RESULT_OK);
  snprintf(want, sizeof want, "ok-%s-try2", cfg);
  CHECK_STR(id, want);
  ec3_gate_string_free(id);
  ec3_gate_client_free(client);
}

static void test_create_cancelled_and_refused(void) {
  char cfg[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_client *denied = client_with_token("denied");
  ec3_gate_cancel *cancel = ec3_gate_cancel_new();
  ec3_gate_cancel *stopped = ec3_gate_cancel_new();
  char *id = SENTINEL_STRING;
  struct canceller c;
  pthread_t thread;
  uint64_t returned;

  snprintf(cfg, sizeof cfg, "cfg-%s-refused", tag);
  CHECK_CODE(ec3_gate_client_create_job(denied, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, 30000, NULL, &id),
             EC3_GATE_RESULT_AUTH);
  CHECK_CONTAINS(ec3_gate_client_last_error(denied), "HTTP 403");

  /* A triggered flag stops the call before anything is sent. */
  CHECK_CODE(ec3_gate_cancel_trigger(stopped), EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_create_job(client, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, 30000, stopped, &id),
             EC3_GATE_RESULT_CANCELLED);
  CHECK_STR(ec3_gate_client_last_error(client), "cancelled");

  /* A request the service never answers: cancelled from another thread. */
  snprintf(cfg, sizeof cfg, "stall-%s-c", tag);
  c.cancel = cancel;
  c.delay_ms = 300;
  c.triggered_at = 0;
  CHECK(pthread_create(&thread, NULL, cancel_later, &c) == 0);
  CHECK_CODE(ec3_gate_client_create_job(client, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, 3600000, cancel, &id),
             EC3_GATE_RESULT_CANCELLED);
  returned = now_ms();
  CHECK(pthread_join(thread, NULL) == 0);
  CHECK(c.triggered_at != 0 && returned - c.triggered_at < limit_ms(1000));

  /* ... or given up at the timeout, and not sent again. */
  snprintf(cfg, sizeof cfg, "stall-%s-t", tag);
  CHECK_CODE(ec3_gate_client_create_job(client, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, limit_ms(300), NULL, &id),
             EC3_GATE_RESULT_SERVICE);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "network error");
  CHECK(strstr(ec3_gate_client_last_error(client), "s3cr3t") == NULL);
  CHECK(id == SENTINEL_STRING);
  ec3_gate_cancel_free(cancel);
  ec3_gate_cancel_free(stopped);
  ec3_gate_client_free(denied);
  ec3_gate_client_free(client);
}

static void test_create_null_and_invalid_arguments(void) {
  ec3_gate_client *good = client_with_token("good-token");
  const char *bad_utf8 = "\xc3\x28";
  const char *cfg = "cfg-never-sent";
  char *id = SENTINEL_STRING;
  char too_long[258];
  memset(too_long, 'n', sizeof too_long - 1);
  too_long[sizeof too_long - 1] = '\0'; /* 257 characters: one too many */

  CHECK_CODE(ec3_gate_client_create_job(NULL, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, 1000, NULL, &id),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_create_job(good, NULL, PROJECT_NAME, EC3_TOKEN,
                                        NULL, 1000, NULL, &id),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_STR(ec3_gate_client_last_error(good), "configuration_id is NULL");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, NULL, EC3_TOKEN, NULL, 1000,
                                        NULL, &id),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_STR(ec3_gate_client_last_error(good), "project_name is NULL");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, PROJECT_NAME, NULL, NULL,
                                        1000, NULL, &id),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_STR(ec3_gate_client_last_error(good), "ec3_token is NULL");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, 1000, NULL, NULL),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_STR(ec3_gate_client_last_error(good), "job_id_out is NULL");

  CHECK_CODE(ec3_gate_client_create_job(good, bad_utf8, PROJECT_NAME,
                                        EC3_TOKEN, NULL, 1000, NULL, &id),
             EC3_GATE_RESULT_INVALID_UTF8);
  CHECK_STR(ec3_gate_client_last_error(good),
            "configuration_id is not valid UTF-8");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, bad_utf8, EC3_TOKEN, NULL,
                                        1000, NULL, &id),
             EC3_GATE_RESULT_INVALID_UTF8);
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, PROJECT_NAME, bad_utf8,
                                        NULL, 1000, NULL, &id),
             EC3_GATE_RESULT_INVALID_UTF8);
  CHECK_STR(ec3_gate_client_last_error(good), "ec3_token is not valid UTF-8");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, PROJECT_NAME, EC3_TOKEN,
                                        bad_utf8, 1000, NULL, &id),
             EC3_GATE_RESULT_INVALID_UTF8);
  CHECK_STR(ec3_gate_client_last_error(good),
            "extraction_id is not valid UTF-8");

  /* Empty, blank or with control characters: refused before sending. */
  CHECK_CODE(ec3_gate_client_create_job(good, "", PROJECT_NAME, EC3_TOKEN,
                                        NULL, 1000, NULL, &id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "configuration id");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, " ", EC3_TOKEN, NULL, 1000,
                                        NULL, &id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "project name");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, too_long, EC3_TOKEN, NULL,
                                        1000, NULL, &id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "project name");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, PROJECT_NAME, EC3_TOKEN, "",
                                        1000, NULL, &id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "extraction id");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, PROJECT_NAME, "", NULL,
                                        1000, NULL, &id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "EC3 token");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, PROJECT_NAME,
                                        "ec3-s3cr3t\n-token", NULL, 1000, NULL,
                                        &id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "EC3 token");
  CHECK(strstr(ec3_gate_client_last_error(good), "s3cr3t") == NULL);
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, 0, NULL, &id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "timeout_ms");
  CHECK_CODE(ec3_gate_client_create_job(good, cfg, PROJECT_NAME, EC3_TOKEN,
                                        NULL, EC3_GATE_MAX_TIMEOUT_MS + 1u,
                                        NULL, &id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(id == SENTINEL_STRING);
  ec3_gate_string_free(NULL);
  ec3_gate_client_free(good);
}

static void test_null_and_invalid_arguments(void) {
  ec3_gate_client_options *options = ec3_gate_client_options_new();
  ec3_gate_client *client = SENTINEL_CLIENT;
  ec3_gate_client *good = client_with_token("good-token");
  ec3_gate_job *job = SENTINEL_JOB;
  const char *bad_utf8 = "\xc3\x28";

  /* Options. */
  CHECK_CODE(ec3_gate_client_options_set_api_url(NULL, base_url),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_options_set_api_url(options, NULL),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_STR(ec3_gate_client_options_last_error(options), "url is NULL");
  CHECK_CODE(ec3_gate_client_options_set_authority(options, bad_utf8),
             EC3_GATE_RESULT_INVALID_UTF8);
  CHECK_STR(ec3_gate_client_options_last_error(options),
            "url is not valid UTF-8");
  CHECK_CODE(ec3_gate_client_options_set_scope(options, NULL),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_options_set_access_token(options, ""),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_options_set_access_token(options, "tok en-s3cr3t"),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(strstr(ec3_gate_client_options_last_error(options), "s3cr3t") == NULL);
  CHECK_CODE(ec3_gate_client_options_set_client_credentials(options, "id", NULL),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(
      ec3_gate_client_options_set_client_credentials(options, bad_utf8, "x"),
      EC3_GATE_RESULT_INVALID_UTF8);
  CHECK_CODE(
      ec3_gate_client_options_set_client_credentials(options, "id", "a\nb"),
      EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(ec3_gate_client_options_last_error(NULL) == NULL);

  /* Making a client. */
  CHECK_CODE(ec3_gate_client_new(NULL, &client), EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_new(options, NULL), EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_new(options, &client),
             EC3_GATE_RESULT_INVALID_ARGUMENT); /* no credentials */
  CHECK_CONTAINS(ec3_gate_client_options_last_error(options), "credentials");
  CHECK(client == SENTINEL_CLIENT);
  CHECK_CODE(ec3_gate_client_options_set_access_token(options, "good-token"),
             EC3_GATE_RESULT_OK);
  CHECK_STR(ec3_gate_client_options_last_error(options), "");
  CHECK_CODE(ec3_gate_client_options_set_api_url(options, "http://example.com"),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_new(options, &client),
             EC3_GATE_RESULT_INVALID_ARGUMENT); /* plain http off loopback */
  CHECK(client == SENTINEL_CLIENT);
  CHECK_CODE(ec3_gate_client_options_set_api_url(options, "not a url"),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_new(options, &client),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(client == SENTINEL_CLIENT);
  CHECK_CODE(ec3_gate_client_options_set_api_url(options, base_url),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_scope(options, ""),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_new(options, &client),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(client == SENTINEL_CLIENT);

  /* Waits and queries: nothing is sent, and the out-param stays put. */
  CHECK_CODE(ec3_gate_client_wait(NULL, "ok-x", 1000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait(good, NULL, 1000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_STR(ec3_gate_client_last_error(good), "job_id is NULL");
  CHECK_CODE(
      ec3_gate_client_wait(good, bad_utf8, 1000, 10, NULL, NULL, NULL, &job),
      EC3_GATE_RESULT_INVALID_UTF8);
  CHECK_CODE(ec3_gate_client_wait(good, "a/b", 1000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "invalid job id");
  CHECK_CODE(ec3_gate_client_wait(good, "", 1000, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait(good, "ok-x", 0, 10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "timeout_ms");
  CHECK_CODE(ec3_gate_client_wait(good, "ok-x", EC3_GATE_MAX_TIMEOUT_MS + 1u,
                                  10, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait(good, "ok-x", 1000, 9, NULL, NULL, NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(good), "interval_ms");
  CHECK_CODE(ec3_gate_client_wait(good, "ok-x", 1000, UINT64_MAX, NULL, NULL,
                                  NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait(good, "ok-x", 1000, 10, NULL, NULL, NULL, NULL),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_STR(ec3_gate_client_last_error(good), "job_out is NULL");
  CHECK_CODE(ec3_gate_client_job_status(NULL, "ok-x", 1000, NULL, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_job_status(good, NULL, 1000, NULL, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_job_status(good, "..", 1000, NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_job_status(good, "ok-x", 0, NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_job_status(good, "ok-x", 1000, NULL, NULL),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK(job == SENTINEL_JOB);
  CHECK(ec3_gate_client_last_error(NULL) == NULL);

  /* Cancel, jobs, codes and names. */
  CHECK_CODE(ec3_gate_cancel_trigger(NULL), EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK(!ec3_gate_cancel_is_triggered(NULL));
  CHECK(ec3_gate_job_status(NULL) == EC3_GATE_STATUS_UNKNOWN);
  CHECK(ec3_gate_job_status_text(NULL) == NULL);
  CHECK(ec3_gate_job_message(NULL) == NULL);
  CHECK(ec3_gate_job_ec3_project_url(NULL) == NULL);
  CHECK_STR(ec3_gate_strerror(EC3_GATE_RESULT_NOT_FOUND), "job not found");
  CHECK_STR(ec3_gate_strerror(EC3_GATE_RESULT_PANIC),
            "internal error (panic in libec3_gate)");
  CHECK_STR(ec3_gate_strerror(EC3_GATE_RESULT_INVALID_UTF8),
            "a string argument is not valid UTF-8");
  CHECK_STR(ec3_gate_strerror(11), "unknown result code");
  CHECK_STR(ec3_gate_strerror(UINT32_MAX), "unknown result code");
  CHECK_STR(ec3_gate_status_name(EC3_GATE_STATUS_FAILED), "Failed");
  CHECK_STR(ec3_gate_status_name(EC3_GATE_STATUS_UNKNOWN), "Unknown");
  CHECK_STR(ec3_gate_status_name(5), "Unknown");
  CHECK_STR(ec3_gate_status_name(UINT32_MAX), "Unknown");

  /* Freeing NULL does nothing. */
  ec3_gate_client_free(NULL);
  ec3_gate_client_options_free(NULL);
  ec3_gate_job_free(NULL);
  ec3_gate_cancel_free(NULL);

  ec3_gate_client_free(good);
  ec3_gate_client_options_free(options);
}

static const struct scenario scenarios[] = {API_SCENARIOS(SCENARIO)};

int main(int argc, char **argv) {
  if (!read_arguments(argc, argv, 4, "BASE_URL TAG VERSION [SLOWNESS]")) {
    return 2;
  }
  return RUN_SCENARIOS(scenarios);
}
