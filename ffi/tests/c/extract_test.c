/*
 * The C11 test of the extraction chain (ec3_gate_client_extract_and_upload,
 * the extract fields of ec3_gate_create_job_params), run by
 * ffi/tests/extract.rs against its local service (the ec3-sim simulator):
 *
 *   extract_test BASE_URL TAG VERSION [SLOWNESS]
 *
 * TAG makes this run's configuration ids unique; SLOWNESS multiplies the
 * time limits (for valgrind). The simulator scripts an extraction by its
 * mappings' prefix, and a configuration `STEM-ext` maps `STEM-m1` and
 * `STEM-m2` of iModel `imodel-1` (`IMODEL.STEM-ext`: of iModel IMODEL);
 * `STEM-report` is report-based. Prints "ok - NAME" or "not ok - NAME" per
 * scenario; exits 0 only when all passed. ffi/tests/extract.rs then checks
 * what reached the simulator (extraction bodies, jobs created or not).
 */
#define _POSIX_C_SOURCE 200809L

#include "ec3_gate.h"
#include "support.h"
#include "service.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Never dereferenced: tells whether *job_out was left untouched. */
static char sentinel_byte;
#define SENTINEL_JOB ((ec3_gate_job *)(void *)&sentinel_byte)

/* A configuration id unique to this run: PREFIX-TAG-NAME-KIND, or
 * IMODEL.PREFIX-TAG-NAME-KIND when imodel is not NULL. */
static const char *config_id(char *buf, size_t size, const char *imodel,
                             const char *prefix, const char *name,
                             const char *kind) {
  if (imodel != NULL) {
    snprintf(buf, size, "%s.%s-%s-%s-%s", imodel, prefix, tag, name, kind);
  } else {
    snprintf(buf, size, "%s-%s-%s-%s", prefix, tag, name, kind);
  }
  return buf;
}

/* Chain parameters for a configuration, extract = 1. */
static ec3_gate_create_job_params chain_params(const char *configuration) {
  ec3_gate_create_job_params p = {.struct_size = sizeof p};
  p.configuration_id = configuration;
  p.project_name = PROJECT_NAME;
  p.ec3_token = EC3_TOKEN;
  p.extract = 1;
  return p;
}

/* Fast polls, a generous deadline. */
static ec3_gate_wait_params fast_wait(void) {
  ec3_gate_wait_params w = {.struct_size = sizeof w};
  w.timeout_ms = limit_ms(20000);
  w.interval_ms = 20;
  return w;
}

/* What the progress callback saw. */
struct seen {
  int started_reports;
  char started_id[96];
  int extraction_reports;
  int job_reports;
  int extraction_after_job; /* an extraction report after a job's */
  char first_extraction_id[96];
  char first_extraction_state[32];
  char last_extraction_state[32];
  char job_extraction_id[96]; /* as named by the job's reports */
  int job_report_without_id;
  ec3_gate_cancel *cancel_on_extraction; /* triggered at the first report */
};

static void copy(char *dst, size_t size, const char *src) {
  snprintf(dst, size, "%s", src ? src : "(NULL)");
}

static void record(const ec3_gate_progress *event, void *user_data) {
  struct seen *seen = (struct seen *)user_data;
  CHECK(event->struct_size >= sizeof *event);
  CHECK(event->job_index == 0);
  if (event->kind == EC3_GATE_PROGRESS_KIND_EXTRACTION_STARTED) {
    CHECK(event->status == EC3_GATE_STATUS_UNKNOWN);
    CHECK(ec3_gate_job_id(event->job) == NULL);
    CHECK(ec3_gate_job_extraction_state(event->job) == NULL);
    CHECK(seen->extraction_reports == 0 && seen->started_reports == 0);
    seen->started_reports++;
    copy(seen->started_id, sizeof seen->started_id,
         ec3_gate_job_extraction_id(event->job));
    if (seen->cancel_on_extraction != NULL) {
      ec3_gate_cancel_trigger(seen->cancel_on_extraction);
    }
  } else if (event->kind == EC3_GATE_PROGRESS_KIND_EXTRACTION_CHANGED) {
    CHECK(event->status == EC3_GATE_STATUS_UNKNOWN);
    CHECK(ec3_gate_job_id(event->job) == NULL);
    if (seen->extraction_reports == 0) {
      copy(seen->first_extraction_id, sizeof seen->first_extraction_id,
           ec3_gate_job_extraction_id(event->job));
      copy(seen->first_extraction_state, sizeof seen->first_extraction_state,
           ec3_gate_job_extraction_state(event->job));
    }
    copy(seen->last_extraction_state, sizeof seen->last_extraction_state,
         ec3_gate_job_extraction_state(event->job));
    seen->extraction_reports++;
    seen->extraction_after_job |= seen->job_reports > 0;
  } else if (event->kind == EC3_GATE_PROGRESS_KIND_STATUS_CHANGED) {
    seen->job_reports++;
    seen->job_report_without_id |= ec3_gate_job_id(event->job) == NULL;
    copy(seen->job_extraction_id, sizeof seen->job_extraction_id,
         ec3_gate_job_extraction_id(event->job));
  }
}

/* The chain that succeeds: the extraction, then the job; the job object
 * names both, the reports come in order and name the extraction as soon as
 * it exists. */
static void test_chain_succeeds(void) {
  char cfg[128];
  struct seen seen;
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p =
      chain_params(config_id(cfg, sizeof cfg, NULL, "ok", "chain", "ext"));
  ec3_gate_wait_params w = fast_wait();
  ec3_gate_job *job = SENTINEL_JOB;
  memset(&seen, 0, sizeof seen);
  w.progress = record;
  w.user_data = &seen;
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_OK);
  CHECK(job != SENTINEL_JOB && job != NULL);
  if (job != SENTINEL_JOB && job != NULL) {
    char want_job[160];
    snprintf(want_job, sizeof want_job, "ok-%s", cfg);
    CHECK_STR(ec3_gate_job_id(job), want_job);
    CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_SUCCEEDED);
    CHECK(ec3_gate_job_ec3_project_url(job) != NULL);
    CHECK_CONTAINS(ec3_gate_job_extraction_id(job), "ok-x");
    CHECK_STR(ec3_gate_job_extraction_state(job), "Succeeded");
    CHECK_STR(seen.started_id, ec3_gate_job_extraction_id(job));
    CHECK_STR(seen.first_extraction_id, ec3_gate_job_extraction_id(job));
    CHECK_STR(seen.job_extraction_id, ec3_gate_job_extraction_id(job));
    ec3_gate_job_free(job);
  }
  CHECK_STR(ec3_gate_client_last_error(client), "");
  CHECK(seen.started_reports == 1);
  CHECK_STR(seen.first_extraction_state, "Running");
  CHECK_STR(seen.last_extraction_state, "Succeeded");
  /* Started; then Running (twice), Succeeded: one report per change. */
  CHECK(seen.extraction_reports == 2);
  CHECK(seen.job_reports >= 2);
  CHECK(!seen.extraction_after_job);
  CHECK(!seen.job_report_without_id);
  ec3_gate_client_free(client);
}

/* The caller names the iModel and the changeset: they are what is sent
 * (ffi/tests/extract.rs reads the body). */
static void test_chain_with_imodel_and_changeset(void) {
  char cfg[128];
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p =
      chain_params(config_id(cfg, sizeof cfg, NULL, "ok", "named", "ext"));
  ec3_gate_wait_params w = fast_wait();
  ec3_gate_job *job = NULL;
  p.imodel_id = "imodel-given";
  p.changeset_id = "changeset-9";
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_OK);
  CHECK_STR(ec3_gate_job_extraction_state(job), "Succeeded");
  ec3_gate_job_free(job);
  ec3_gate_client_free(client);
}

/* The extraction Failed: no job is created; JOB_FAILED with the logs'
 * errors (one line, capped, the fake workflow command defused); the job
 * object names the extraction. */
static void test_failed_extraction_creates_no_job(void) {
  char cfg[128];
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p =
      chain_params(config_id(cfg, sizeof cfg, NULL, "fail", "chain", "ext"));
  ec3_gate_wait_params w = fast_wait();
  ec3_gate_job *job = SENTINEL_JOB;
  const char *error;
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_JOB_FAILED);
  CHECK_CODE(ec3_gate_client_last_error_code(client),
             EC3_GATE_RESULT_JOB_FAILED);
  error = ec3_gate_client_last_error(client);
  CHECK_CONTAINS(error, "ended Failed");
  CHECK_CONTAINS(error, "fail-x");
  CHECK_CONTAINS(error, "-m1");
  CHECK(error != NULL && strchr(error, '\n') == NULL);
  CHECK(error != NULL && strlen(error) < 4096);
  CHECK(job != SENTINEL_JOB && job != NULL);
  if (job != SENTINEL_JOB && job != NULL) {
    CHECK(ec3_gate_job_id(job) == NULL);
    CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_UNKNOWN);
    CHECK_STR(ec3_gate_job_status_text(job), "");
    CHECK_CONTAINS(ec3_gate_job_extraction_id(job), "fail-x");
    CHECK_STR(ec3_gate_job_extraction_state(job), "Failed");
    ec3_gate_job_free(job);
  }
  ec3_gate_client_free(client);
}

/* PartiallySucceeded stops the chain by default (JOB_FAILED, no job),
 * naming the mappings that failed. */
static void test_partial_extraction_refused(void) {
  char cfg[128];
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p = chain_params(
      config_id(cfg, sizeof cfg, NULL, "partial", "refused", "ext"));
  ec3_gate_wait_params w = fast_wait();
  ec3_gate_job *job = NULL;
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_JOB_FAILED);
  CHECK_CONTAINS(ec3_gate_client_last_error(client),
                 "ended PartiallySucceeded");
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "refused-m1");
  CHECK(ec3_gate_job_id(job) == NULL);
  CHECK_STR(ec3_gate_job_extraction_state(job), "PartiallySucceeded");
  ec3_gate_job_free(job);
  /* The same through ec3_gate_client_create_job_with: no job id. */
  {
    char *job_id = (char *)SENTINEL_JOB;
    p.timeout_ms = limit_ms(30000);
    CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &job_id),
               EC3_GATE_RESULT_JOB_FAILED);
    CHECK(job_id == (char *)SENTINEL_JOB);
    CHECK_CONTAINS(ec3_gate_client_last_error(client),
                   "ended PartiallySucceeded");
  }
  ec3_gate_client_free(client);
}

/* allow_partial_extraction = 1 goes on: the job is created and waited for;
 * the iModel is the one the configuration links to (IMODEL.STEM-ext). */
static void test_partial_extraction_allowed(void) {
  char cfg[128];
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p = chain_params(
      config_id(cfg, sizeof cfg, "imodel-linked", "partial", "allowed", "ext"));
  ec3_gate_wait_params w = fast_wait();
  ec3_gate_job *job = NULL;
  p.allow_partial_extraction = 1;
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_OK);
  CHECK(ec3_gate_job_id(job) != NULL);
  CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_SUCCEEDED);
  CHECK_STR(ec3_gate_job_extraction_state(job), "PartiallySucceeded");
  CHECK_CONTAINS(ec3_gate_job_extraction_id(job), "partial-x");
  ec3_gate_job_free(job);
  ec3_gate_client_free(client);
}

/* A report-based configuration cannot be extracted: a usage error naming it
 * and its report; only the configuration was read; *job_out untouched. */
static void test_report_based_configuration_refused(void) {
  char cfg[128];
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p =
      chain_params(config_id(cfg, sizeof cfg, NULL, "ok", "chain", "report"));
  ec3_gate_wait_params w = fast_wait();
  ec3_gate_job *job = SENTINEL_JOB;
  char *job_id = (char *)SENTINEL_JOB;
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(job == SENTINEL_JOB);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), cfg);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "report");
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &job_id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(job_id == (char *)SENTINEL_JOB);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "report");
  ec3_gate_client_free(client);
}

/* Without extract: a job of the wrong form is refused after the
 * configuration was read, naming the field to set or clear; no job. */
static void test_wrong_form_refused_without_extract(void) {
  char cfg[128];
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p =
      chain_params(config_id(cfg, sizeof cfg, NULL, "ok", "plain", "ext"));
  char *job_id = (char *)SENTINEL_JOB;
  p.extract = 0;
  p.timeout_ms = limit_ms(20000);
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &job_id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client),
                 "extract (or extraction_id): ");
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "is extraction-based");
  p.configuration_id =
      config_id(cfg, sizeof cfg, NULL, "ok", "plain", "report");
  p.extraction_id = "extraction-1";
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &job_id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "extraction id: ");
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "is report-based");
  CHECK(job_id == (char *)SENTINEL_JOB);
  ec3_gate_client_free(client);
}

/* ec3_gate_client_create_job_with with extract = 1: the extraction (polled
 * at the default interval), then the job, whose id comes back. */
static void test_create_job_with_extract(void) {
  char cfg[128];
  char want[160];
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p =
      chain_params(config_id(cfg, sizeof cfg, NULL, "ok", "created", "ext"));
  char *job_id = NULL;
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &job_id),
             EC3_GATE_RESULT_OK);
  snprintf(want, sizeof want, "ok-%s", cfg);
  CHECK_STR(job_id, want);
  ec3_gate_string_free(job_id);
  ec3_gate_client_free(client);
}

/* A program built against the first version of the struct (ending at
 * `cancel`) keeps working: the bytes after its struct are not read (here
 * they would say extract = 0xFFFFFFFF, refused if read). */
static void test_first_version_struct_still_works(void) {
  union {
    ec3_gate_create_job_params p;
    unsigned char bytes[sizeof(ec3_gate_create_job_params)];
  } old;
  char cfg[128];
  char want[160];
  char *job_id = NULL;
  ec3_gate_client *client = client_with_token("c-token");
  memset(old.bytes, 0xFF, sizeof old.bytes);
  old.p.struct_size = offsetof(ec3_gate_create_job_params, extract);
  old.p.configuration_id = config_id(cfg, sizeof cfg, NULL, "ok", "old", "report");
  old.p.project_name = PROJECT_NAME;
  old.p.ec3_token = EC3_TOKEN;
  old.p.extraction_id = NULL;
  old.p.timeout_ms = limit_ms(20000);
  old.p.cancel = NULL;
  CHECK_CODE(ec3_gate_client_create_job_with(client, &old.p, &job_id),
             EC3_GATE_RESULT_OK);
  snprintf(want, sizeof want, "ok-%s", cfg);
  CHECK_STR(job_id, want);
  ec3_gate_string_free(job_id);
  /* One byte short of the first version: refused. */
  old.p.struct_size = offsetof(ec3_gate_create_job_params, extract) - 1;
  job_id = (char *)SENTINEL_JOB;
  CHECK_CODE(ec3_gate_client_create_job_with(client, &old.p, &job_id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(job_id == (char *)SENTINEL_JOB);
  ec3_gate_client_free(client);
}

/* At the deadline, the job object still names the extraction. */
static void test_timeout_names_the_extraction(void) {
  char cfg[128];
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p =
      chain_params(config_id(cfg, sizeof cfg, NULL, "slow", "chain", "ext"));
  ec3_gate_wait_params w = fast_wait();
  ec3_gate_job *job = SENTINEL_JOB;
  w.timeout_ms = limit_ms(400);
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_TIMED_OUT);
  CHECK(job != SENTINEL_JOB && job != NULL);
  if (job != SENTINEL_JOB && job != NULL) {
    CHECK(ec3_gate_job_id(job) == NULL);
    CHECK_CONTAINS(ec3_gate_job_extraction_id(job), "slow-x");
    CHECK_STR(ec3_gate_job_extraction_state(job), "Running");
    ec3_gate_job_free(job);
  }
  ec3_gate_client_free(client);
}

/* A cancel during the extraction (here from its EXTRACTION_STARTED report)
 * ends the call before the first poll; the job object names the
 * extraction. */
static void test_cancel_names_the_extraction(void) {
  char cfg[128];
  struct seen seen;
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p =
      chain_params(config_id(cfg, sizeof cfg, NULL, "slow", "cancel", "ext"));
  ec3_gate_wait_params w = fast_wait();
  ec3_gate_job *job = SENTINEL_JOB;
  memset(&seen, 0, sizeof seen);
  seen.cancel_on_extraction = ec3_gate_cancel_new();
  w.progress = record;
  w.user_data = &seen;
  w.cancel = seen.cancel_on_extraction;
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_CANCELLED);
  CHECK(seen.started_reports == 1);
  CHECK(seen.extraction_reports == 0);
  CHECK(job != SENTINEL_JOB && job != NULL);
  if (job != SENTINEL_JOB && job != NULL) {
    CHECK_CONTAINS(ec3_gate_job_extraction_id(job), "slow-x");
    CHECK_STR(ec3_gate_job_extraction_id(job), seen.started_id);
    ec3_gate_job_free(job);
  }
  ec3_gate_cancel_free(seen.cancel_on_extraction);
  ec3_gate_client_free(client);
}

/* Usage errors: each named, nothing sent (ffi/tests/extract.rs checks that
 * no extraction of these configurations ran), out-params untouched. */
static void test_usage_errors(void) {
  char cfg[128];
  ec3_gate_client *client = client_with_token("c-token");
  ec3_gate_create_job_params p =
      chain_params(config_id(cfg, sizeof cfg, NULL, "ok", "usage", "ext"));
  ec3_gate_wait_params w = fast_wait();
  ec3_gate_job *job = SENTINEL_JOB;
  char *job_id = (char *)SENTINEL_JOB;

  p.extract = 2;
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &job_id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_STR(ec3_gate_client_last_error(client),
            "extract: is 2; use 1 (yes) or 0 (no)");
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);

  p.extract = 0;
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "extract");
  p.imodel_id = "imodel-1";
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &job_id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_STR(ec3_gate_client_last_error(client),
            "imodel_id: is only used with extract = 1");
  p.imodel_id = NULL;
  p.allow_partial_extraction = 1;
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &job_id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client),
                 "allow_partial_extraction");
  p.allow_partial_extraction = 0;

  p.extract = 1;
  p.imodel_id = "bad id/..";
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "imodel_id");
  p.imodel_id = NULL;
  p.changeset_id = "";
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "changeset_id");
  p.changeset_id = NULL;
  p.extraction_id = "extraction-1";
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "extraction_id");
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &job_id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "extraction_id");
  p.extraction_id = NULL;

  p.timeout_ms = 1000;
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "params.timeout_ms");
  p.timeout_ms = 0;
  {
    /* A non-UTF-8 iModel id. */
    const char bad[] = {'i', (char)0xC3, 0};
    p.imodel_id = bad;
    CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
               EC3_GATE_RESULT_INVALID_UTF8);
    p.imodel_id = NULL;
  }
  w.interval_ms = 1; /* below EC3_GATE_MIN_INTERVAL_MS */
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "interval_ms");
  w.interval_ms = 20;

  CHECK_CODE(ec3_gate_client_extract_and_upload(client, NULL, &w, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, NULL),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_extract_and_upload(NULL, &p, &w, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  p.configuration_id = NULL;
  CHECK_CODE(ec3_gate_client_extract_and_upload(client, &p, &w, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK(job == SENTINEL_JOB);
  CHECK(job_id == (char *)SENTINEL_JOB);

  /* The accessors of a job from elsewhere, and NULL. */
  CHECK(ec3_gate_job_extraction_id(NULL) == NULL);
  CHECK(ec3_gate_job_extraction_state(NULL) == NULL);
  ec3_gate_client_free(client);
}

static const struct scenario scenarios[] = {
    SCENARIO(chain_succeeds)
    SCENARIO(chain_with_imodel_and_changeset)
    SCENARIO(failed_extraction_creates_no_job)
    SCENARIO(partial_extraction_refused)
    SCENARIO(partial_extraction_allowed)
    SCENARIO(report_based_configuration_refused)
    SCENARIO(wrong_form_refused_without_extract)
    SCENARIO(create_job_with_extract)
    SCENARIO(first_version_struct_still_works)
    SCENARIO(timeout_names_the_extraction)
    SCENARIO(cancel_names_the_extraction)
    SCENARIO(usage_errors)
};

int main(int argc, char **argv) {
  if (!read_arguments(argc, argv, 4, "BASE_URL TAG VERSION [SLOWNESS]")) {
    return 2;
  }
  return RUN_SCENARIOS(scenarios);
}
