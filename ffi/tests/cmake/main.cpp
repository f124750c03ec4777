// consumer: waits for one EC3 upload job with libec3_gate from C++17.
//
//   consumer API_URL TOKEN JOB_ID
//
// Prints the EC3 project link, or the error with the service's answer as
// values; exits with the result code.
#include <ec3_gate.h>

#include <cstdio>
#include <memory>

namespace {

template <typename T, void (*Free)(T *)> struct Deleter {
  void operator()(T *p) const { Free(p); }
};
using Options = std::unique_ptr<ec3_gate_client_options,
                                Deleter<ec3_gate_client_options, ec3_gate_client_options_free>>;
using Client = std::unique_ptr<ec3_gate_client, Deleter<ec3_gate_client, ec3_gate_client_free>>;
using Job = std::unique_ptr<ec3_gate_job, Deleter<ec3_gate_job, ec3_gate_job_free>>;

} // namespace

int main(int argc, char **argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: %s API_URL TOKEN JOB_ID\n", argv[0]);
    return 2;
  }
  static_assert(EC3_GATE_VERSION_NUMBER >= 1000, "a 0.1 header or later");
  if (ec3_gate_version_number() != EC3_GATE_VERSION_NUMBER) {
    std::fprintf(stderr, "header %s, library %s\n", EC3_GATE_VERSION_STRING,
                 ec3_gate_version());
    return 70;
  }
  Options options(ec3_gate_client_options_new());
  ec3_gate_client *raw = nullptr;
  if (ec3_gate_client_options_set_api_url(options.get(), argv[1]) != EC3_GATE_RESULT_OK ||
      ec3_gate_client_options_set_access_token(options.get(), argv[2]) != EC3_GATE_RESULT_OK ||
      ec3_gate_client_new(options.get(), &raw) != EC3_GATE_RESULT_OK) {
    std::fprintf(stderr, "error: %s\n", ec3_gate_client_options_last_error(options.get()));
    return 2;
  }
  Client client(raw);

  ec3_gate_wait_params params{};
  params.struct_size = sizeof params;
  params.interval_ms = 10;
  ec3_gate_job *job_out = nullptr;
  ec3_gate_result rc = ec3_gate_client_wait_with(client.get(), argv[3], &params, &job_out);
  Job job(job_out);
  if (rc == EC3_GATE_RESULT_OK) {
    const char *link = ec3_gate_job_ec3_project_url(job.get());
    std::printf("%s %s\n", ec3_gate_job_id(job.get()), link ? link : "(no link)");
  } else {
    const char *code = ec3_gate_client_last_error_service_code(client.get());
    std::fprintf(stderr, "error %u (HTTP %u, %s): %s\n", static_cast<unsigned>(rc),
                 static_cast<unsigned>(ec3_gate_client_last_error_http_status(client.get())),
                 code ? code : "no service code", ec3_gate_client_last_error(client.get()));
  }
  return static_cast<int>(rc);
}
