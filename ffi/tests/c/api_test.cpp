// The C++17 test of libec3_gate: the same scenarios as api_test.c, written
// the way a C++ tool would use the library (RAII handles, std::thread,
// lambdas as callbacks). Same arguments and output:
//
//   api_test_cpp BASE_URL TAG VERSION [SLOWNESS]

/* This program also tests the deprecated flat calls, which stay until 1.0. */
#define EC3_GATE_NO_DEPRECATED
#include "ec3_gate.h"
#include "support.h"
#include "api_scenarios.h"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

std::string base_url;
std::string tag;
std::string version;
double slowness = 1.0;

std::string text(const char *s) { return s ? s : "(NULL)"; }

// RAII: every handle is freed exactly once by its ec3_gate_*_free.
struct ClientFree {
  void operator()(ec3_gate_client *c) const { ec3_gate_client_free(c); }
};
struct OptionsFree {
  void operator()(ec3_gate_client_options *o) const {
    ec3_gate_client_options_free(o);
  }
};
struct JobFree {
  void operator()(ec3_gate_job *j) const { ec3_gate_job_free(j); }
};
struct CancelFree {
  void operator()(ec3_gate_cancel *c) const { ec3_gate_cancel_free(c); }
};
struct StringFree {
  void operator()(char *s) const { ec3_gate_string_free(s); }
};
using Client = std::unique_ptr<ec3_gate_client, ClientFree>;
using Options = std::unique_ptr<ec3_gate_client_options, OptionsFree>;
using Job = std::unique_ptr<ec3_gate_job, JobFree>;
using Cancel = std::unique_ptr<ec3_gate_cancel, CancelFree>;
using OwnedString = std::unique_ptr<char, StringFree>;

// Never dereferenced: tells whether an out-param was left untouched.
char sentinel_byte;
ec3_gate_job *const sentinel_job = reinterpret_cast<ec3_gate_job *>(&sentinel_byte);
ec3_gate_client *const sentinel_client =
    reinterpret_cast<ec3_gate_client *>(&sentinel_byte);
char *const sentinel_string = &sentinel_byte;

// What the service (the ec3-sim simulator) expects in a job creation:
// the quote and the non-ASCII letter check the request's JSON encoding.
const char *const project_name = "Tower \"A\" \xc3\x9c" "ber";
const char *const ec3_token = "ec3-s3cr3t-token";
const char *const extraction_id = "extraction-1";

using Clock = std::chrono::steady_clock;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t)
      .count();
}

long long limit_ms(int ms) { return static_cast<long long>(ms * slowness); }

std::string job_id(const std::string &prefix, const std::string &name) {
  return prefix + "-" + tag + "-" + name;
}

Client client_with_token(const char *token) {
  Options options(ec3_gate_client_options_new());
  CHECK(options != nullptr);
  CHECK_CODE(ec3_gate_client_options_set_api_url(options.get(), base_url.c_str()),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_access_token(options.get(), token),
             EC3_GATE_RESULT_OK);
  ec3_gate_client *client = nullptr;
  CHECK_CODE(ec3_gate_client_new(options.get(), &client), EC3_GATE_RESULT_OK);
  return Client(client);
}

// A client with the service application's credentials (`c-app` and `secret`).
// The options are freed before it is used: the client keeps its own copy.
Client client_with_credentials(const char *secret) {
  Options options(ec3_gate_client_options_new());
  CHECK(options != nullptr);
  CHECK_CODE(ec3_gate_client_options_set_api_url(options.get(), base_url.c_str()),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(
      ec3_gate_client_options_set_authority(options.get(), base_url.c_str()),
      EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_client_credentials(options.get(),
                                                            "c-app", secret),
             EC3_GATE_RESULT_OK);
  ec3_gate_client *client = nullptr;
  CHECK_CODE(ec3_gate_client_new(options.get(), &client), EC3_GATE_RESULT_OK);
  return Client(client);
}

// Waits with no progress callback and no cancel; the job (if any) is owned.
ec3_gate_result wait(const Client &client, const std::string &id, Job &job,
                     std::uint64_t timeout_ms = 30000,
                     std::uint64_t interval_ms = 10,
                     const ec3_gate_cancel *cancel = nullptr) {
  ec3_gate_job *raw = nullptr;
  ec3_gate_result code = ec3_gate_client_wait(
      client.get(), id.c_str(), timeout_ms, interval_ms, nullptr, nullptr, cancel,
      &raw);
  job.reset(raw);
  return code;
}

struct Event {
  ec3_gate_progress_kind kind;
  ec3_gate_status status;
  std::uint64_t elapsed_ms;
  ec3_gate_result error;
  std::string text;
};

struct Recorder {
  std::vector<Event> events;
  const ec3_gate_cancel *cancel_on_running = nullptr;
};

// A captureless lambda is a plain C function pointer.
const ec3_gate_progress_callback record = [](const ec3_gate_progress *event,
                                             void *user_data) {
  auto *r = static_cast<Recorder *>(user_data);
  Event e{event->kind, event->status, event->elapsed_ms, event->error, ""};
  if (event->kind == EC3_GATE_PROGRESS_KIND_STATUS_CHANGED) {
    CHECK(event->job != nullptr);
    e.text = text(ec3_gate_job_status_text(event->job));
    if (event->status == EC3_GATE_STATUS_RUNNING && r->cancel_on_running) {
      CHECK_CODE(ec3_gate_cancel_trigger(r->cancel_on_running),
                 EC3_GATE_RESULT_OK);
    }
  } else if (event->kind == EC3_GATE_PROGRESS_KIND_RETRYING) {
    CHECK(event->job == nullptr);
    e.text = text(event->detail);
  }
  r->events.push_back(e);
};

ec3_gate_result wait_recording(const Client &client, const std::string &id,
                               Recorder &r, const ec3_gate_cancel *cancel,
                               ec3_gate_job **out) {
  return ec3_gate_client_wait(client.get(), id.c_str(), 30000, 10, record, &r,
                              cancel, out);
}

// Waits for `id` on a new client, recording its progress into `r`, and checks
// that the wait succeeded.
void wait_recording_ok(const std::string &id, Recorder &r) {
  Client client = client_with_token("good-token");
  ec3_gate_job *raw = nullptr;
  CHECK_CODE(wait_recording(client, id, r, nullptr, &raw), EC3_GATE_RESULT_OK);
  Job job(raw);
}

// ---- scenarios ----

void test_version() {
  std::string macros = std::to_string(EC3_GATE_VERSION_MAJOR) + "." +
                       std::to_string(EC3_GATE_VERSION_MINOR) + "." +
                       std::to_string(EC3_GATE_VERSION_PATCH);
  CHECK(macros == version);
  CHECK_STR(EC3_GATE_VERSION_STRING, version);
  CHECK_STR(ec3_gate_version(), version);
}

void test_success_with_link() {
  Client client = client_with_token("good-token");
  Job job;
  std::string id = job_id("ok", "success");
  CHECK_CODE(wait(client, id, job), EC3_GATE_RESULT_OK);
  CHECK(ec3_gate_job_status(job.get()) == EC3_GATE_STATUS_SUCCEEDED);
  CHECK_STR(ec3_gate_job_status_text(job.get()), "Succeeded");
  CHECK_STR(ec3_gate_job_ec3_project_url(job.get()),
            "https://buildingtransparency.org/ec3/buildings/" + id +
                "?view=custom");
  CHECK(ec3_gate_job_message(job.get()) == nullptr);
  CHECK_STR(ec3_gate_client_last_error(client.get()), "");
}

void test_failure_with_message() {
  Client client = client_with_token("good-token");
  Job job;
  CHECK_CODE(wait(client, job_id("fail", "f"), job), EC3_GATE_RESULT_JOB_FAILED);
  CHECK(ec3_gate_job_status(job.get()) == EC3_GATE_STATUS_FAILED);
  CHECK_STR(ec3_gate_job_message(job.get()),
            "EC3 rejected the report:\nproject name already exists");
  CHECK(ec3_gate_job_ec3_project_url(job.get()) == nullptr);
  CHECK_STR(ec3_gate_client_last_error(client.get()),
            "job failed: EC3 rejected the report:\\nproject name already exists");
}

void test_not_found() {
  Client client = client_with_token("good-token");
  std::string id = job_id("missing", "nf");
  ec3_gate_job *job = sentinel_job;
  CHECK_CODE(ec3_gate_client_wait(client.get(), id.c_str(), 30000, 10, nullptr,
                                  nullptr, nullptr, &job),
             EC3_GATE_RESULT_NOT_FOUND);
  CHECK(job == sentinel_job);
  CHECK_STR(ec3_gate_client_last_error(client.get()),
            "job not found (HTTP 404 JobNotFound: Requested EC3 Job is not "
            "available.)");
  CHECK_CODE(ec3_gate_client_job_status(client.get(), id.c_str(), 5000, nullptr,
                                        &job),
             EC3_GATE_RESULT_NOT_FOUND);
  CHECK(job == sentinel_job);
}

void test_auth_refused() {
  std::string id = job_id("ok", "auth");
  Job job;
  Client denied = client_with_token("denied");
  CHECK_CODE(wait(denied, id, job), EC3_GATE_RESULT_AUTH);
  CHECK_CONTAINS(ec3_gate_client_last_error(denied.get()), "HTTP 403");
  Client expired = client_with_token("Bearer expired");
  CHECK_CODE(wait(expired, id, job), EC3_GATE_RESULT_AUTH);
  CHECK_CONTAINS(ec3_gate_client_last_error(expired.get()), "HTTP 401");

  Client app = client_with_credentials("wrong-s3cr3t");
  CHECK_CODE(wait(app, id, job), EC3_GATE_RESULT_AUTH);
  CHECK_CONTAINS(ec3_gate_client_last_error(app.get()), "invalid_client");
  CHECK(std::strstr(ec3_gate_client_last_error(app.get()), "s3cr3t") == nullptr);
  CHECK(job == nullptr);
}

void test_client_credentials() {
  Client client = client_with_credentials("good-secret");
  Job job;
  CHECK_CODE(wait(client, job_id("ok", "cc"), job), EC3_GATE_RESULT_OK);
  CHECK(ec3_gate_job_status(job.get()) == EC3_GATE_STATUS_SUCCEEDED);
}

void test_status_once() {
  Client client = client_with_token("good-token");
  ec3_gate_job *raw = nullptr;
  CHECK_CODE(ec3_gate_client_job_status(client.get(),
                                        job_id("ok", "once").c_str(),
                                        EC3_GATE_DEFAULT_STATUS_TIMEOUT_MS,
                                        nullptr, &raw),
             EC3_GATE_RESULT_OK);
  Job queued(raw);
  CHECK(ec3_gate_job_status(queued.get()) == EC3_GATE_STATUS_QUEUED);
  CHECK_CODE(ec3_gate_client_job_status(client.get(),
                                        job_id("odd", "once").c_str(), 5000,
                                        nullptr, &raw),
             EC3_GATE_RESULT_OK);
  Job odd(raw);
  CHECK(ec3_gate_job_status(odd.get()) == EC3_GATE_STATUS_UNKNOWN);
  CHECK_STR(ec3_gate_job_status_text(odd.get()), "Paused");
}

void test_timeout() {
  Client client = client_with_token("good-token");
  Job job;
  auto start = Clock::now();
  // The last poll starts a tenth of the timeout before the deadline: keep
  // that slack well above one poll's time.
  CHECK_CODE(wait(client, job_id("slow", "t"), job,
                  static_cast<std::uint64_t>(limit_ms(500)), 50),
             EC3_GATE_RESULT_TIMED_OUT);
  CHECK(ms_since(start) < limit_ms(2000));
  CHECK(job == nullptr);
  CHECK_STR(ec3_gate_client_last_error(client.get()),
            "timed out waiting for the job");
}

// Runs `call` while another thread triggers `cancel` after 300 ms, and checks
// that it returned CANCELLED within a second of the trigger.
template <class Call>
void cancelled_from_thread(ec3_gate_cancel *cancel, Call call) {
  Clock::time_point triggered;
  std::thread canceller([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    triggered = Clock::now();
    CHECK_CODE(ec3_gate_cancel_trigger(cancel), EC3_GATE_RESULT_OK);
  });
  ec3_gate_result code = call();
  auto returned = Clock::now();
  canceller.join();
  CHECK_CODE(code, EC3_GATE_RESULT_CANCELLED);
  CHECK(std::chrono::duration_cast<std::chrono::milliseconds>(returned - triggered)
            .count() < limit_ms(1000));
}

void cancel_from_thread(const std::string &prefix, std::uint64_t interval_ms) {
  Client client = client_with_token("good-token");
  Cancel cancel(ec3_gate_cancel_new());
  Job job;
  cancelled_from_thread(cancel.get(), [&] {
    return wait(client, job_id(prefix, "c"), job, 3600000, interval_ms,
                cancel.get());
  });
  CHECK(job == nullptr);
  CHECK(ec3_gate_cancel_is_triggered(cancel.get()));
  CHECK_CODE(wait(client, job_id("ok", "c2"), job, 30000, 10, cancel.get()),
             EC3_GATE_RESULT_CANCELLED);
  CHECK_CODE(wait(client, job_id("ok", prefix), job), EC3_GATE_RESULT_OK);
}

void test_cancel_stalled_server() { cancel_from_thread("stall", 10); }

void test_cancel_long_interval() {
  cancel_from_thread("slow", EC3_GATE_MAX_INTERVAL_MS);
}

void test_cancel_from_callback() {
  Client client = client_with_token("good-token");
  Cancel cancel(ec3_gate_cancel_new());
  Recorder r;
  r.cancel_on_running = cancel.get();
  ec3_gate_job *job = sentinel_job;
  CHECK_CODE(wait_recording(client, job_id("ok", "cb"), r, cancel.get(), &job),
             EC3_GATE_RESULT_CANCELLED);
  CHECK(r.events.size() == 2);
  CHECK(job == sentinel_job);
}

void test_progress_order() {
  Recorder r;
  wait_recording_ok(job_id("ok", "p"), r);
  const std::vector<std::string> want{"Queued", "Running", "Succeeded"};
  const std::vector<ec3_gate_status> statuses{EC3_GATE_STATUS_QUEUED,
                                              EC3_GATE_STATUS_RUNNING,
                                              EC3_GATE_STATUS_SUCCEEDED};
  CHECK(r.events.size() == want.size());
  for (std::size_t i = 0; i < r.events.size() && i < want.size(); i++) {
    CHECK(r.events[i].kind == EC3_GATE_PROGRESS_KIND_STATUS_CHANGED);
    CHECK(r.events[i].status == statuses[i]);
    CHECK(r.events[i].text == want[i]);
    CHECK(i == 0 || r.events[i].elapsed_ms >= r.events[i - 1].elapsed_ms);
  }
}

void test_retry_progress() {
  Recorder r;
  wait_recording_ok(job_id("flaky", "r"), r);
  CHECK(r.events.size() == 4);
  if (r.events.size() == 4) {
    CHECK(r.events[0].kind == EC3_GATE_PROGRESS_KIND_RETRYING);
    CHECK(r.events[0].error == EC3_GATE_RESULT_SERVICE);
    CHECK(r.events[0].text.find("HTTP 503") != std::string::npos);
    CHECK(r.events[1].status == EC3_GATE_STATUS_QUEUED);
    CHECK(r.events[3].status == EC3_GATE_STATUS_SUCCEEDED);
  }
}

void test_threads_share_a_client() {
  Client client = client_with_token("good-token");
  struct Work {
    std::string id;
    ec3_gate_result want;
    ec3_gate_result got;
    std::string last_error;
  };
  std::vector<Work> work{
      {job_id("ok", "thread0"), EC3_GATE_RESULT_OK, EC3_GATE_RESULT_PANIC, ""},
      {job_id("missing", "thread1"), EC3_GATE_RESULT_NOT_FOUND,
       EC3_GATE_RESULT_PANIC, ""},
      {job_id("fail", "thread2"), EC3_GATE_RESULT_JOB_FAILED,
       EC3_GATE_RESULT_PANIC, ""},
      {job_id("ok", "thread3"), EC3_GATE_RESULT_OK, EC3_GATE_RESULT_PANIC, ""},
  };
  std::vector<std::thread> threads;
  for (Work &w : work) {
    threads.emplace_back([&client, &w] {
      Job job;
      w.got = wait(client, w.id, job);
      w.last_error = ec3_gate_client_last_error(client.get());
    });
  }
  for (std::thread &t : threads) t.join();
  for (const Work &w : work) CHECK_CODE(w.got, w.want);
  CHECK(work[0].last_error.empty());
  CHECK(work[1].last_error.find("job not found") != std::string::npos);
  CHECK(work[2].last_error.find("job failed") != std::string::npos);
  CHECK(work[3].last_error.empty());
  CHECK_STR(ec3_gate_client_last_error(client.get()), "");
}

// ---- job creation ----

// Creates a job; on OK `id` owns the new id, otherwise it is untouched.
ec3_gate_result create(const Client &client, const std::string &configuration,
                       const char *extraction, OwnedString &id,
                       std::uint64_t timeout_ms = 30000,
                       const ec3_gate_cancel *cancel = nullptr) {
  char *raw = sentinel_string;
  ec3_gate_result code = ec3_gate_client_create_job(
      client.get(), configuration.c_str(), project_name, ec3_token, extraction,
      timeout_ms, cancel, &raw);
  if (code == EC3_GATE_RESULT_OK) {
    id.reset(raw);
  } else {
    CHECK(raw == sentinel_string);
  }
  return code;
}

void test_create_then_wait() {
  OwnedString report_id;
  OwnedString extraction_job_id;
  {
    Client client = client_with_token("good-token");
    std::string cfg = "cfg-" + tag + "-report";
    CHECK_CODE(create(client, cfg, nullptr, report_id,
                      EC3_GATE_DEFAULT_CREATE_TIMEOUT_MS),
               EC3_GATE_RESULT_OK);
    CHECK_STR(report_id.get(), "ok-" + cfg);
    CHECK_STR(ec3_gate_client_last_error(client.get()), "");
    Job job;
    CHECK_CODE(wait(client, report_id ? report_id.get() : "", job),
               EC3_GATE_RESULT_OK);
    CHECK_STR(ec3_gate_job_ec3_project_url(job.get()),
              "https://buildingtransparency.org/ec3/buildings/ok-" + cfg +
                  "?view=custom");

    Cancel cancel(ec3_gate_cancel_new());
    cfg = "cfg-" + tag + "-ext";
    CHECK_CODE(create(client, cfg, extraction_id, extraction_job_id, 30000,
                      cancel.get()),
               EC3_GATE_RESULT_OK);
    CHECK_STR(extraction_job_id.get(), "ok-" + cfg);
  }
  // The id strings outlive the client: they belong to the caller.
  CHECK_CONTAINS(report_id.get(), "-report");
  CHECK_CONTAINS(extraction_job_id.get(), "-ext");
}

void test_create_rejected() {
  Client client = client_with_token("good-token");
  OwnedString id;
  std::string cfg = "reject-" + tag;
  CHECK_CODE(create(client, cfg, nullptr, id), EC3_GATE_RESULT_REJECTED);
  CHECK_STR(ec3_gate_client_last_error(client.get()),
            "request rejected as invalid (HTTP 422 InvalidEC3JobRequest: "
            "Configuration '" +
                cfg + "' has no report to upload with EC3 token '***'.)");
  CHECK(std::strstr(ec3_gate_client_last_error(client.get()), "s3cr3t") ==
        nullptr);
  CHECK_STR(ec3_gate_strerror(EC3_GATE_RESULT_REJECTED),
            "the service rejected the request as invalid");
  // An extraction id for a report-based configuration: refused on reading
  // the configuration, before the job is asked for.
  cfg = "cfg-" + tag + "-report";
  CHECK_CODE(create(client, cfg, extraction_id, id),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  std::string want = "configuration '" + cfg +
                     "' is report-based (it uploads report 'report-cfg-" +
                     tag + "') and takes no extraction";
  CHECK_CONTAINS(ec3_gate_client_last_error(client.get()), want.c_str());
  CHECK_CONTAINS(ec3_gate_client_last_error(client.get()),
                 "no job was created");
  CHECK(id == nullptr);
}

void test_create_retried_when_busy() {
  Client client = client_with_token("good-token");
  OwnedString id;
  std::string cfg = "busy-" + tag;
  CHECK_CODE(create(client, cfg, nullptr, id), EC3_GATE_RESULT_OK);
  CHECK_STR(id.get(), "ok-" + cfg + "-try2");
}

void test_create_cancelled_and_refused() {
  Client client = client_with_token("good-token");
  Client denied = client_with_token("denied");
  OwnedString id;
  CHECK_CODE(create(denied, "cfg-" + tag + "-refused", nullptr, id),
             EC3_GATE_RESULT_AUTH);
  CHECK_CONTAINS(ec3_gate_client_last_error(denied.get()), "HTTP 403");

  Cancel stopped(ec3_gate_cancel_new());
  CHECK_CODE(ec3_gate_cancel_trigger(stopped.get()), EC3_GATE_RESULT_OK);
  CHECK_CODE(create(client, "cfg-" + tag + "-stopped", nullptr, id, 30000,
                    stopped.get()),
             EC3_GATE_RESULT_CANCELLED);
  CHECK_STR(ec3_gate_client_last_error(client.get()), "cancelled");

  Cancel cancel(ec3_gate_cancel_new());
  cancelled_from_thread(cancel.get(), [&] {
    return create(client, "stall-" + tag + "-c", nullptr, id, 3600000,
                  cancel.get());
  });

  CHECK_CODE(create(client, "stall-" + tag + "-t", nullptr, id,
                    static_cast<std::uint64_t>(limit_ms(300))),
             EC3_GATE_RESULT_SERVICE);
  CHECK_CONTAINS(ec3_gate_client_last_error(client.get()), "network error");
  CHECK(id == nullptr);
}

void test_create_null_and_invalid_arguments() {
  const char *bad_utf8 = "\xc3\x28";
  const char *cfg = "cfg-never-sent";
  const std::string too_long(257, 'n');
  Client good = client_with_token("good-token");
  ec3_gate_client *c = good.get();
  char *id = sentinel_string;
  struct Case {
    const ec3_gate_client *client;
    const char *configuration, *project, *token, *extraction;
    std::uint64_t timeout_ms;
    char **out;
    ec3_gate_result want;
    const char *message; // a part of the last error; nullptr: not checked
  };
  const Case cases[] = {
      {nullptr, cfg, project_name, ec3_token, nullptr, 1000, &id,
       EC3_GATE_RESULT_NULL_ARGUMENT, nullptr},
      {c, nullptr, project_name, ec3_token, nullptr, 1000, &id,
       EC3_GATE_RESULT_NULL_ARGUMENT, "configuration_id is NULL"},
      {c, cfg, nullptr, ec3_token, nullptr, 1000, &id,
       EC3_GATE_RESULT_NULL_ARGUMENT, "project_name is NULL"},
      {c, cfg, project_name, nullptr, nullptr, 1000, &id,
       EC3_GATE_RESULT_NULL_ARGUMENT, "ec3_token is NULL"},
      {c, cfg, project_name, ec3_token, nullptr, 1000, nullptr,
       EC3_GATE_RESULT_NULL_ARGUMENT, "job_id_out is NULL"},
      {c, bad_utf8, project_name, ec3_token, nullptr, 1000, &id,
       EC3_GATE_RESULT_INVALID_UTF8, "configuration_id is not valid UTF-8"},
      {c, cfg, bad_utf8, ec3_token, nullptr, 1000, &id,
       EC3_GATE_RESULT_INVALID_UTF8, "project_name is not valid UTF-8"},
      {c, cfg, project_name, bad_utf8, nullptr, 1000, &id,
       EC3_GATE_RESULT_INVALID_UTF8, "ec3_token is not valid UTF-8"},
      {c, cfg, project_name, ec3_token, bad_utf8, 1000, &id,
       EC3_GATE_RESULT_INVALID_UTF8, "extraction_id is not valid UTF-8"},
      {c, "", project_name, ec3_token, nullptr, 1000, &id,
       EC3_GATE_RESULT_INVALID_ARGUMENT, "configuration id"},
      {c, cfg, "\t", ec3_token, nullptr, 1000, &id,
       EC3_GATE_RESULT_INVALID_ARGUMENT, "project name"},
      {c, too_long.c_str(), project_name, ec3_token, nullptr, 1000, &id,
       EC3_GATE_RESULT_INVALID_ARGUMENT, "configuration id"},
      {c, cfg, project_name, ec3_token, "", 1000, &id,
       EC3_GATE_RESULT_INVALID_ARGUMENT, "extraction id"},
      {c, cfg, project_name, ec3_token, too_long.c_str(), 1000, &id,
       EC3_GATE_RESULT_INVALID_ARGUMENT, "extraction id"},
      {c, cfg, project_name, " ", nullptr, 1000, &id,
       EC3_GATE_RESULT_INVALID_ARGUMENT, "EC3 token"},
      {c, cfg, project_name, "ec3-s3cr3t\r\n", nullptr, 1000, &id,
       EC3_GATE_RESULT_INVALID_ARGUMENT, "EC3 token"},
      {c, cfg, project_name, ec3_token, nullptr, 0, &id,
       EC3_GATE_RESULT_INVALID_ARGUMENT, "timeout_ms"},
  };
  for (const Case &k : cases) {
    CHECK_CODE(ec3_gate_client_create_job(k.client, k.configuration, k.project,
                                          k.token, k.extraction, k.timeout_ms,
                                          nullptr, k.out),
               k.want);
    if (k.message != nullptr) {
      CHECK_CONTAINS(ec3_gate_client_last_error(c), k.message);
      CHECK(std::strstr(ec3_gate_client_last_error(c), "s3cr3t") == nullptr);
    }
  }
  CHECK(id == sentinel_string);
  ec3_gate_string_free(nullptr);
}

void test_null_and_invalid_arguments() {
  const char *bad_utf8 = "\xc3\x28";
  Options options(ec3_gate_client_options_new());
  CHECK_CODE(ec3_gate_client_options_set_api_url(nullptr, "https://x"),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_options_set_api_url(options.get(), nullptr),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_STR(ec3_gate_client_options_last_error(options.get()), "url is NULL");
  CHECK_CODE(ec3_gate_client_options_set_scope(options.get(), bad_utf8),
             EC3_GATE_RESULT_INVALID_UTF8);
  CHECK_CODE(ec3_gate_client_options_set_access_token(options.get(), "a b"),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  ec3_gate_client *client = sentinel_client;
  CHECK_CODE(ec3_gate_client_new(options.get(), &client),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(client == sentinel_client);
  CHECK_CODE(ec3_gate_client_new(nullptr, &client),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_new(options.get(), nullptr),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_options_set_access_token(options.get(), "tok"),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_api_url(options.get(), "ftp://x"),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_new(options.get(), &client),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(client == sentinel_client);

  Client good = client_with_token("good-token");
  ec3_gate_job *job = sentinel_job;
  CHECK_CODE(ec3_gate_client_wait(nullptr, "ok-x", 1000, 10, nullptr, nullptr,
                                  nullptr, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait(good.get(), nullptr, 1000, 10, nullptr,
                                  nullptr, nullptr, &job),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait(good.get(), bad_utf8, 1000, 10, nullptr,
                                  nullptr, nullptr, &job),
             EC3_GATE_RESULT_INVALID_UTF8);
  CHECK_CODE(ec3_gate_client_wait(good.get(), "a?b", 1000, 10, nullptr, nullptr,
                                  nullptr, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait(good.get(), "ok-x", 0, 10, nullptr, nullptr,
                                  nullptr, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait(good.get(), "ok-x", 1000,
                                  EC3_GATE_MAX_INTERVAL_MS + 1u, nullptr,
                                  nullptr, nullptr, &job),
             EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK_CODE(ec3_gate_client_wait(good.get(), "ok-x", 1000, 10, nullptr, nullptr,
                                  nullptr, nullptr),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK_CODE(ec3_gate_client_job_status(good.get(), "ok-x", 1000, nullptr,
                                        nullptr),
             EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK(job == sentinel_job);
  CHECK(ec3_gate_client_last_error(nullptr) == nullptr);
  CHECK_CODE(ec3_gate_cancel_trigger(nullptr), EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK(!ec3_gate_cancel_is_triggered(nullptr));
  CHECK(ec3_gate_job_status(nullptr) == EC3_GATE_STATUS_UNKNOWN);
  CHECK(ec3_gate_job_status_text(nullptr) == nullptr);
  CHECK_STR(ec3_gate_strerror(EC3_GATE_RESULT_AUTH),
            "authentication or authorization refused");
  CHECK_STR(ec3_gate_strerror(EC3_GATE_RESULT_CANCELLED), "cancelled");
  CHECK_STR(ec3_gate_strerror(11), "unknown result code");
  CHECK_STR(ec3_gate_strerror(12345), "unknown result code");
  CHECK_STR(ec3_gate_status_name(EC3_GATE_STATUS_RUNNING), "Running");
  CHECK_STR(ec3_gate_status_name(12345), "Unknown");
  ec3_gate_client_free(nullptr);
  ec3_gate_client_options_free(nullptr);
  ec3_gate_job_free(nullptr);
  ec3_gate_cancel_free(nullptr);
}

const scenario scenarios[] = {API_SCENARIOS(SCENARIO)};

} // namespace

int main(int argc, char **argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s BASE_URL TAG VERSION [SLOWNESS]\n", argv[0]);
    return 2;
  }
  base_url = argv[1];
  tag = argv[2];
  version = argv[3];
  if (argc > 4) slowness = std::atof(argv[4]);
  return RUN_SCENARIOS(scenarios);
}
