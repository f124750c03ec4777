/*
 * The C11 test of what makes libec3_gate safe to depend on across releases:
 * structured and per-thread errors, error storage that does not grow with
 * thread churn, the size-led parameter structs, the version number, the job
 * id, the last job of a timed-out wait, cancel on all three calls, and one
 * call's cancel after another's. Run
 * by ffi/tests/abi.rs against its local job service
 * (the ec3-sim simulator):
 *
 *   abi_test BASE_URL TAG VERSION SLOWNESS THREADS
 *
 * THREADS is how many short-lived threads the churn scenario starts. Prints
 * "ok - NAME" or "not ok - NAME" per scenario; exits 0 only when all passed.
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* mallinfo2 */

#include "ec3_gate.h"
#include "support.h"
#include "service.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

static long churn_threads = 10000;



static ec3_gate_wait_params fast_wait(void) {
  ec3_gate_wait_params p = {.struct_size = sizeof p};
  p.timeout_ms = limit_ms(20000);
  p.interval_ms = 10;
  return p;
}

/* ---- scenarios ---- */

static void test_version_number(void) {
  char text[32];
  CHECK(ec3_gate_version_number() == (uint32_t)EC3_GATE_VERSION_NUMBER);
  CHECK(EC3_GATE_VERSION_NUMBER ==
        EC3_GATE_VERSION_MAJOR * 1000000L + EC3_GATE_VERSION_MINOR * 1000L +
            EC3_GATE_VERSION_PATCH);
  snprintf(text, sizeof text, "%ld.%ld.%ld",
           (long)(ec3_gate_version_number() / 1000000u),
           (long)(ec3_gate_version_number() / 1000u % 1000u),
           (long)(ec3_gate_version_number() % 1000u));
  CHECK_STR(text, version);
  CHECK_STR(ec3_gate_version(), version);
#if EC3_GATE_VERSION_NUMBER < 1000
#error "EC3_GATE_VERSION_NUMBER must be usable in #if"
#endif
}

static void test_structured_errors(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_client *denied = client_with_token("denied");
  ec3_gate_job *job = NULL;

  /* 404 with the documented body: code, status, service code and target. */
  CHECK_CODE(ec3_gate_client_job_status(client,
                                        job_id(id, sizeof id, "missing", "se"),
                                        limit_ms(10000), NULL, &job),
             EC3_GATE_RESULT_NOT_FOUND);
  CHECK_CODE(ec3_gate_client_last_error_code(client), EC3_GATE_RESULT_NOT_FOUND);
  CHECK(ec3_gate_client_last_error_http_status(client) == 404);
  CHECK_STR(ec3_gate_client_last_error_service_code(client), "JobNotFound");
  CHECK_STR(ec3_gate_client_last_error_target(client), "jobId");
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "HTTP 404 JobNotFound");

  /* 403 without a target. */
  CHECK_CODE(ec3_gate_client_job_status(denied, job_id(id, sizeof id, "ok", "se"),
                                        limit_ms(10000), NULL, &job),
             EC3_GATE_RESULT_AUTH);
  CHECK(ec3_gate_client_last_error_http_status(denied) == 403);
  CHECK_STR(ec3_gate_client_last_error_service_code(denied),
            "InsufficientPermissions");
  CHECK(ec3_gate_client_last_error_target(denied) == NULL);

  /* Refused before sending: no HTTP status, no service fields. */
  CHECK_CODE(ec3_gate_client_job_status(client, "a/b", 1000, NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_last_error_code(client),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(ec3_gate_client_last_error_http_status(client) == 0);
  CHECK(ec3_gate_client_last_error_service_code(client) == NULL);
  CHECK(ec3_gate_client_last_error_target(client) == NULL);

  /* A 422 of a job creation. */
  {
    ec3_gate_create_job_params p = {.struct_size = sizeof p};
    char *created = NULL;
    p.configuration_id = job_id(id, sizeof id, "reject", "se");
    p.project_name = PROJECT_NAME;
    p.ec3_token = EC3_TOKEN;
    CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &created),
               EC3_GATE_RESULT_REJECTED);
    CHECK(created == NULL);
    CHECK(ec3_gate_client_last_error_http_status(client) == 422);
    CHECK_STR(ec3_gate_client_last_error_service_code(client),
              "InvalidEC3JobRequest");
    CHECK(strstr(ec3_gate_client_last_error(client), EC3_TOKEN) == NULL);
  }

  /* Success clears them all. */
  CHECK_CODE(ec3_gate_client_job_status(client, job_id(id, sizeof id, "ok", "se"),
                                        limit_ms(10000), NULL, &job),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_last_error_code(client), EC3_GATE_RESULT_OK);
  CHECK(ec3_gate_client_last_error_http_status(client) == 0);
  CHECK(ec3_gate_client_last_error_service_code(client) == NULL);
  CHECK(ec3_gate_client_last_error_target(client) == NULL);
  CHECK_STR(ec3_gate_client_last_error(client), "");
  ec3_gate_job_free(job);

  /* NULL client. */
  CHECK_CODE(ec3_gate_client_last_error_code(NULL), EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK(ec3_gate_client_last_error_http_status(NULL) == 0);
  CHECK(ec3_gate_client_last_error_service_code(NULL) == NULL);
  CHECK(ec3_gate_client_last_error_target(NULL) == NULL);

  ec3_gate_client_free(denied);
  ec3_gate_client_free(client);
}

struct per_thread {
  ec3_gate_client *client;
  ec3_gate_result code;
  uint16_t status;
};

static void *fail_in_thread(void *arg) {
  struct per_thread *t = (struct per_thread *)arg;
  ec3_gate_job *job = NULL;
  char id[128];
  ec3_gate_client_job_status(t->client, job_id(id, sizeof id, "missing", "pt"),
                             limit_ms(10000), NULL, &job);
  t->code = ec3_gate_client_last_error_code(t->client);
  t->status = ec3_gate_client_last_error_http_status(t->client);
  return NULL;
}

static void test_errors_are_per_thread(void) {
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = NULL;
  struct per_thread t = {client, EC3_GATE_RESULT_OK, 0};
  pthread_t thread;
  CHECK_CODE(ec3_gate_client_job_status(client, "a/b", 1000, NULL, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(pthread_create(&thread, NULL, fail_in_thread, &t) == 0);
  pthread_join(thread, NULL);
  CHECK_CODE(t.code, EC3_GATE_RESULT_NOT_FOUND);
  CHECK(t.status == 404);
  /* This thread's error is its own. */
  CHECK_CODE(ec3_gate_client_last_error_code(client),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(ec3_gate_client_last_error_http_status(client) == 0);
  ec3_gate_client_free(client);
}

/* One failed call (refused before sending: no network), then the thread
 * ends: its error must go with it. */
static void *fail_and_exit(void *arg) {
  ec3_gate_job *job = NULL;
  ec3_gate_client_job_status((ec3_gate_client *)arg, "not/valid", 1000, NULL,
                             &job);
  return NULL;
}

static void run_short_threads(ec3_gate_client *client, long n) {
  long i;
  for (i = 0; i < n; i++) {
    pthread_t thread;
    if (pthread_create(&thread, NULL, fail_and_exit, client) != 0) {
      CHECK(!"pthread_create");
      return;
    }
    pthread_join(thread, NULL);
  }
}

static size_t heap_in_use(void) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
  struct mallinfo2 info = mallinfo2();
  return info.uordblks + info.hblkhd;
#else
  return 0; /* not measurable here: the check below passes trivially */
#endif
}

static void test_thread_churn_keeps_no_memory(void) {
  ec3_gate_client *client = client_with_token("good-token");
  size_t before, after;
  /* Warm up: the allocator's per-thread arenas, the library's first use. */
  run_short_threads(client, 200);
  before = heap_in_use();
  run_short_threads(client, churn_threads);
  after = heap_in_use();
  fprintf(stderr, "  %ld threads: heap in use %zu -> %zu bytes\n",
          churn_threads, before, after);
  /* A message kept per thread would be about 100 bytes each: 1 MB for
   * 10,000 threads. Allow allocator noise well below that. */
  CHECK(after <= before + 64 * 1024);
  ec3_gate_client_free(client);
}

static void test_wait_params(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = NULL;
  ec3_gate_wait_params p = fast_wait();

  /* Too small: refused, naming the field. */
  p.struct_size = sizeof(size_t);
  CHECK_CODE(ec3_gate_client_wait_with(client, job_id(id, sizeof id, "ok", "wp1"),
                                       &p, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "struct_size");
  CHECK(job == NULL);

  /* Larger (a newer header), unknown fields zero: accepted. */
  {
    struct {
      ec3_gate_wait_params known;
      uint64_t added;
    } newer;
    memset(&newer, 0, sizeof newer);
    newer.known = fast_wait();
    newer.known.struct_size = sizeof newer;
    CHECK_CODE(ec3_gate_client_wait_with(client,
                                         job_id(id, sizeof id, "ok", "wp2"),
                                         &newer.known, &job),
               EC3_GATE_RESULT_OK);
    CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_SUCCEEDED);
    ec3_gate_job_free(job);
    job = NULL;
    /* ... unknown fields set: refused. */
    newer.added = 1;
    CHECK_CODE(ec3_gate_client_wait_with(client,
                                         job_id(id, sizeof id, "ok", "wp3"),
                                         &newer.known, &job),
               EC3_GATE_RESULT_INVALID_ARGUMENT);
    CHECK(job == NULL);
  }

  /* Above one page (as openat2): refused before reading, even all zero. */
  {
    static unsigned char big[8192];
    ec3_gate_wait_params head = fast_wait();
    head.struct_size = sizeof big;
    memcpy(big, &head, sizeof head);
    CHECK_CODE(ec3_gate_client_wait_with(client,
                                         job_id(id, sizeof id, "ok", "wp6"),
                                         (const ec3_gate_wait_params *)big, &job),
               EC3_GATE_RESULT_INVALID_ARGUMENT);
    CHECK_CONTAINS(ec3_gate_client_last_error(client), "struct_size");
    CHECK(job == NULL);
  }

  /* Out-of-range values are still refused; 0 means the default. */
  p = fast_wait();
  p.interval_ms = 1;
  CHECK_CODE(ec3_gate_client_wait_with(client, job_id(id, sizeof id, "ok", "wp4"),
                                       &p, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "interval_ms");
  p = fast_wait();
  p.timeout_ms = EC3_GATE_MAX_TIMEOUT_MS + 1;
  CHECK_CODE(ec3_gate_client_wait_with(client, job_id(id, sizeof id, "ok", "wp5"),
                                       &p, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait_with(NULL, "x", NULL, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait_with(client, "x", NULL, NULL),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  ec3_gate_client_free(client);
}

struct seen {
  int reports;
  int size_ok;
  int id_ok;
  const char *want_id;
};

static void check_report(const ec3_gate_progress *event, void *user_data) {
  struct seen *seen = (struct seen *)user_data;
  seen->reports++;
  if (event->struct_size == sizeof(ec3_gate_progress)) {
    seen->size_ok++;
  }
  if (event->kind == EC3_GATE_PROGRESS_KIND_STATUS_CHANGED &&
      strcmp(ec3_gate_job_id(event->job), seen->want_id) == 0) {
    seen->id_ok++;
  }
}

static void test_job_id_and_progress_size(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = NULL;
  ec3_gate_wait_params p = fast_wait();
  struct seen seen = {0, 0, 0, NULL};
  seen.want_id = job_id(id, sizeof id, "ok", "jid");
  p.progress = check_report;
  p.user_data = &seen;
  CHECK_CODE(ec3_gate_client_wait_with(client, id, &p, &job), EC3_GATE_RESULT_OK);
  CHECK_STR(ec3_gate_job_id(job), id);
  CHECK(seen.reports == 3); /* Queued, Running, Succeeded */
  CHECK(seen.size_ok == seen.reports);
  CHECK(seen.id_ok == seen.reports);
  CHECK(ec3_gate_job_id(NULL) == NULL);
  ec3_gate_job_free(job);
  ec3_gate_client_free(client);
}

static void test_timed_out_gives_last_job(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_job *job = (ec3_gate_job *)(void *)&id; /* must be overwritten */
  ec3_gate_wait_params p = fast_wait();
  uint64_t timeout = limit_ms(400), started = now_ms(), took;
  p.timeout_ms = timeout;
  CHECK_CODE(ec3_gate_client_wait_with(client,
                                       job_id(id, sizeof id, "slow", "to"), &p,
                                       &job),
             EC3_GATE_RESULT_TIMED_OUT);
  took = now_ms() - started;
  CHECK(job != (ec3_gate_job *)(void *)&id && job != NULL);
  if (job != NULL && job != (ec3_gate_job *)(void *)&id) {
    CHECK(ec3_gate_job_status(job) == EC3_GATE_STATUS_RUNNING);
    CHECK_STR(ec3_gate_job_id(job), id);
    ec3_gate_job_free(job);
  }
  /* The documented rule: never before timeout - min(timeout / 4, 1 s). */
  CHECK(took >= timeout - (timeout / 4 < 1000 ? timeout / 4 : 1000));
  CHECK_CODE(ec3_gate_client_last_error_code(client), EC3_GATE_RESULT_TIMED_OUT);
  ec3_gate_client_free(client);
}

static void test_create_job_with(void) {
  char id[128];
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_create_job_params p = {.struct_size = sizeof p};
  char *created = NULL;
  ec3_gate_job *job = NULL;
  p.configuration_id = job_id(id, sizeof id, "cfg", "cw");
  p.project_name = PROJECT_NAME;
  p.ec3_token = EC3_TOKEN;
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &created),
             EC3_GATE_RESULT_OK);
  if (created != NULL) {
    char want[160];
    ec3_gate_wait_params w = fast_wait();
    snprintf(want, sizeof want, "ok-%s", id);
    CHECK_STR(created, want);
    CHECK_CODE(ec3_gate_client_wait_with(client, created, &w, &job),
               EC3_GATE_RESULT_OK);
    CHECK_STR(ec3_gate_job_id(job), want);
    ec3_gate_job_free(job);
    ec3_gate_string_free(created);
  }
  created = NULL;
  CHECK_CODE(ec3_gate_client_create_job_with(client, NULL, &created),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  p.ec3_token = NULL;
  CHECK_CODE(ec3_gate_client_create_job_with(client, &p, &created),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CONTAINS(ec3_gate_client_last_error(client), "ec3_token");
  CHECK(created == NULL);
  ec3_gate_client_free(client);
}

/* ---- cancel: one flag, the three calls; another call on the client ---- */

struct call {
  ec3_gate_client *client;
  ec3_gate_cancel *cancel;
  int which; /* 0 create, 1 status, 2 wait, 3 undisturbed wait */
  ec3_gate_result code;
  uint64_t took_ms;
};

static void *run_call(void *arg) {
  struct call *c = (struct call *)arg;
  char id[128];
  uint64_t started = now_ms();
  ec3_gate_job *job = NULL;
  char *created = NULL;
  if (c->which == 0) {
    ec3_gate_create_job_params p = {.struct_size = sizeof p};
    p.configuration_id = job_id(id, sizeof id, "stall", "cx");
    p.project_name = PROJECT_NAME;
    p.ec3_token = EC3_TOKEN;
    p.timeout_ms = limit_ms(60000);
    p.cancel = c->cancel;
    c->code = ec3_gate_client_create_job_with(c->client, &p, &created);
  } else if (c->which == 1) {
    c->code = ec3_gate_client_job_status(c->client,
                                         job_id(id, sizeof id, "stall", "cs"),
                                         limit_ms(60000), c->cancel, &job);
  } else {
    ec3_gate_wait_params p = fast_wait();
    p.timeout_ms = limit_ms(60000);
    if (c->which == 2) {
      p.cancel = c->cancel;
      c->code = ec3_gate_client_wait_with(
          c->client, job_id(id, sizeof id, "stall", "cw"), &p, &job);
    } else {
      p.interval_ms = 200;
      c->code = ec3_gate_client_wait_with(
          c->client, job_id(id, sizeof id, "ok", "cu"), &p, &job);
    }
  }
  c->took_ms = now_ms() - started;
  ec3_gate_job_free(job);
  ec3_gate_string_free(created);
  return NULL;
}

static void test_cancel_all_three_calls(void) {
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_cancel *cancel = ec3_gate_cancel_new();
  struct call calls[4];
  pthread_t threads[4];
  int i;
  for (i = 0; i < 4; i++) {
    calls[i].client = client;
    calls[i].cancel = cancel;
    calls[i].which = i;
    calls[i].code = EC3_GATE_RESULT_PANIC;
    calls[i].took_ms = 0;
    CHECK(pthread_create(&threads[i], NULL, run_call, &calls[i]) == 0);
  }
  sleep_ms((unsigned)limit_ms(400)); /* all three are blocked on the server */
  CHECK_CODE(ec3_gate_cancel_trigger(cancel), EC3_GATE_RESULT_OK);
  for (i = 0; i < 4; i++) {
    pthread_join(threads[i], NULL);
  }
  CHECK_CODE(calls[0].code, EC3_GATE_RESULT_CANCELLED);
  CHECK_CODE(calls[1].code, EC3_GATE_RESULT_CANCELLED);
  CHECK_CODE(calls[2].code, EC3_GATE_RESULT_CANCELLED);
  for (i = 0; i < 3; i++) {
    CHECK(calls[i].took_ms < limit_ms(30000)); /* not their 60 s timeouts */
  }
  /* A wait on the same client without the flag finishes. */
  CHECK_CODE(calls[3].code, EC3_GATE_RESULT_OK);
  ec3_gate_cancel_free(cancel);
  ec3_gate_client_free(client);
}

/* One flag's cancel ends its call also after another call on the same client
 * was cancelled (issue 21): wait A and status B blocked on a server that
 * never answers, B cancelled, then A; a creation and a wait beside them
 * without a flag succeed. */
struct flagged {
  ec3_gate_client *client;
  ec3_gate_cancel *cancel;
  int which; /* 0 wait (A), 1 status (B), 2 create, 3 wait, without flag */
  ec3_gate_result code;
};

static void *run_flagged(void *arg) {
  struct flagged *c = (struct flagged *)arg;
  char id[128];
  ec3_gate_job *job = NULL;
  char *created = NULL;
  ec3_gate_wait_params w = fast_wait();
  w.timeout_ms = limit_ms(60000);
  w.interval_ms = 200;
  w.cancel = c->cancel;
  if (c->which == 0) {
    c->code = ec3_gate_client_wait_with(
        c->client, job_id(id, sizeof id, "stall", "a"), &w, &job);
  } else if (c->which == 1) {
    c->code = ec3_gate_client_job_status(c->client,
                                         job_id(id, sizeof id, "stall", "b"),
                                         limit_ms(60000), c->cancel, &job);
  } else if (c->which == 2) {
    ec3_gate_create_job_params p = {.struct_size = sizeof p};
    sleep_ms((unsigned)limit_ms(300)); /* sent while B is being cancelled */
    p.configuration_id = "configuration-1";
    p.project_name = PROJECT_NAME;
    p.ec3_token = EC3_TOKEN;
    p.timeout_ms = limit_ms(60000);
    c->code = ec3_gate_client_create_job_with(c->client, &p, &created);
  } else {
    c->code = ec3_gate_client_wait_with(
        c->client, job_id(id, sizeof id, "ok", "u"), &w, &job);
  }
  ec3_gate_job_free(job);
  ec3_gate_string_free(created);
  return NULL;
}

static void test_cancel_after_another_cancel(void) {
  ec3_gate_client *client = client_with_token("good-token");
  ec3_gate_cancel *a = ec3_gate_cancel_new();
  ec3_gate_cancel *b = ec3_gate_cancel_new();
  struct flagged calls[4];
  pthread_t threads[4];
  uint64_t a_cancelled_at;
  int i;
  for (i = 0; i < 4; i++) {
    calls[i].client = client;
    calls[i].cancel = i == 0 ? a : i == 1 ? b : NULL;
    calls[i].which = i;
    calls[i].code = EC3_GATE_RESULT_PANIC;
    CHECK(pthread_create(&threads[i], NULL, run_flagged, &calls[i]) == 0);
  }
  sleep_ms((unsigned)limit_ms(400)); /* A and B are blocked on the server */
  CHECK_CODE(ec3_gate_cancel_trigger(b), EC3_GATE_RESULT_OK);
  pthread_join(threads[1], NULL);
  CHECK_CODE(calls[1].code, EC3_GATE_RESULT_CANCELLED);
  /* Long enough for A to be retrying, had B's cancel cut A's request. */
  sleep_ms((unsigned)limit_ms(1500));
  a_cancelled_at = now_ms();
  CHECK_CODE(ec3_gate_cancel_trigger(a), EC3_GATE_RESULT_OK);
  pthread_join(threads[0], NULL);
  CHECK_CODE(calls[0].code, EC3_GATE_RESULT_CANCELLED);
  /* Not its 60 s timeout, nor the 30 s a single request may last. */
  CHECK(now_ms() - a_cancelled_at < limit_ms(10000));
  pthread_join(threads[2], NULL);
  pthread_join(threads[3], NULL);
  CHECK_CODE(calls[2].code, EC3_GATE_RESULT_OK);
  CHECK_CODE(calls[3].code, EC3_GATE_RESULT_OK);
  ec3_gate_cancel_free(a);
  ec3_gate_cancel_free(b);
  ec3_gate_client_free(client);
}

/* The progress callback calls the client while the wait fetches a token
 * (issue 21): the authority refuses connections, so the wait's fetch is
 * retried and reports RETRYING; the callback's status query then fetches a
 * token of its own (refused too, within its own timeout) instead of
 * waiting for the fetch the callback holds up. */
struct reentry {
  ec3_gate_client *client;
  int calls;
  ec3_gate_result code;
  char error[512];
};

static void call_client_from_callback(const ec3_gate_progress *event,
                                      void *user_data) {
  struct reentry *r = (struct reentry *)user_data;
  ec3_gate_job *job = NULL;
  char id[128];
  if (event->kind != EC3_GATE_PROGRESS_KIND_RETRYING || r->calls > 0) {
    return;
  }
  r->calls++;
  r->code = ec3_gate_client_job_status(r->client,
                                       job_id(id, sizeof id, "ok", "reentry"),
                                       limit_ms(1500), NULL, &job);
  snprintf(r->error, sizeof r->error, "%s",
           ec3_gate_client_last_error(r->client));
  ec3_gate_job_free(job);
}

/* A loopback port nothing listens on. */
static unsigned closed_port(void) {
  struct sockaddr_in addr;
  socklen_t len = sizeof addr;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK(fd >= 0);
  CHECK(bind(fd, (struct sockaddr *)&addr, sizeof addr) == 0);
  CHECK(getsockname(fd, (struct sockaddr *)&addr, &len) == 0);
  close(fd);
  return ntohs(addr.sin_port);
}

static void test_callback_calls_the_client(void) {
  char id[128];
  char authority[64];
  ec3_gate_client_options *options = ec3_gate_client_options_new();
  ec3_gate_client *client = NULL;
  ec3_gate_job *job = NULL;
  ec3_gate_wait_params p = fast_wait();
  struct reentry r;
  memset(&r, 0, sizeof r);
  snprintf(authority, sizeof authority, "http://127.0.0.1:%u", closed_port());
  CHECK_CODE(ec3_gate_client_options_set_api_url(options, base_url),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_authority(options, authority),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_client_credentials(
                 options, "c-app", "c-s3cret-value"),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_new(options, &client), EC3_GATE_RESULT_OK);
  ec3_gate_client_options_free(options);
  r.client = client;
  p.timeout_ms = limit_ms(4000);
  p.progress = call_client_from_callback;
  p.user_data = &r;
  (void)ec3_gate_client_wait_with(client, job_id(id, sizeof id, "ok", "outer"),
                                  &p, &job);
  ec3_gate_job_free(job);
  CHECK(r.calls == 1);
  CHECK(r.code != EC3_GATE_RESULT_OK && r.code != EC3_GATE_RESULT_PANIC);
  /* Its own fetch's failure, not the deadline of a wait for itself. */
  CHECK_CONTAINS(r.error, "refused");
  ec3_gate_client_free(client);
}

static const struct scenario scenarios[] = {
    {"version_number", test_version_number},
    {"structured_errors", test_structured_errors},
    {"errors_are_per_thread", test_errors_are_per_thread},
    {"thread_churn_keeps_no_memory", test_thread_churn_keeps_no_memory},
    {"wait_params", test_wait_params},
    {"job_id_and_progress_size", test_job_id_and_progress_size},
    {"timed_out_gives_last_job", test_timed_out_gives_last_job},
    {"create_job_with", test_create_job_with},
    {"cancel_all_three_calls", test_cancel_all_three_calls},
    {"cancel_after_another_cancel", test_cancel_after_another_cancel},
    {"callback_calls_the_client", test_callback_calls_the_client},
};

int main(int argc, char **argv) {
  if (!read_arguments(argc, argv, 6, "BASE_URL TAG VERSION SLOWNESS THREADS")) {
    return 2;
  }
  churn_threads = atol(argv[5]);
  return RUN_SCENARIOS(scenarios);
}
