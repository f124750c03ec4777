/* ec3_gate_client_options_set_ca_cert: a private CA, by path and as PEM
 * text, against a real HTTPS server whose certificate it signed; without it
 * the certificate problem is named in the last error.
 *
 * Usage: ca_test HTTPS_URL CA_FILE
 * Prints "ok - NAME" per passed scenario; exits non-zero on any failure. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ec3_gate.h"
#include "support.h"

static const char *url;

/* Options for `url` with a token and, when `ca` is not NULL, that CA. */
static ec3_gate_client_options *options_with(const char *ca) {
  ec3_gate_client_options *options = ec3_gate_client_options_new();
  CHECK(options != NULL);
  CHECK(ec3_gate_client_options_set_api_url(options, url) ==
        EC3_GATE_RESULT_OK);
  CHECK(ec3_gate_client_options_set_access_token(options, "test-token-123") ==
        EC3_GATE_RESULT_OK);
  if (ca != NULL) {
    CHECK(ec3_gate_client_options_set_ca_cert(options, ca) ==
          EC3_GATE_RESULT_OK);
  }
  return options;
}

/* Queries a job once with `ca`; returns the result, and checks that a
 * success means `Succeeded`. `detail` receives a copy of the last error. */
static ec3_gate_result query(const char *ca, char *detail, size_t size) {
  ec3_gate_client_options *options = options_with(ca);
  ec3_gate_client *client = NULL;
  ec3_gate_result made = ec3_gate_client_new(options, &client);
  ec3_gate_client_options_free(options);
  CHECK(made == EC3_GATE_RESULT_OK);
  if (made != EC3_GATE_RESULT_OK) {
    return made;
  }
  ec3_gate_job *job = NULL;
  ec3_gate_result r =
      ec3_gate_client_job_status(client, "ok-ca", 20000, NULL, &job);
  snprintf(detail, size, "%s", ec3_gate_client_last_error(client));
  if (r == EC3_GATE_RESULT_OK) {
    /* The simulator walks the job Queued, Running, Succeeded: any state it
       knows shows the answer was read over the trusted connection. */
    CHECK(ec3_gate_job_status(job) != EC3_GATE_STATUS_UNKNOWN);
    ec3_gate_job_free(job);
  }
  ec3_gate_client_free(client);
  return r;
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    return NULL;
  }
  char *text = calloc(1, 1 << 16);
  size_t n = text ? fread(text, 1, (1 << 16) - 1, f) : 0;
  (void)n;
  fclose(f);
  return text;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: ca_test HTTPS_URL CA_FILE\n");
    return 2;
  }
  url = argv[1];
  const char *ca_file = argv[2];
  char detail[1024];

  /* Without the CA: final at once, the problem named. */
  CHECK(query(NULL, detail, sizeof detail) == EC3_GATE_RESULT_SERVICE);
  CHECK_CONTAINS(detail, "certificate not trusted (unknown issuer");
  CHECK_CONTAINS(detail, "TLS handshake with API localhost:");
  if (failures == 0) puts("ok - untrusted_named");

  int before = failures;
  CHECK(query(ca_file, detail, sizeof detail) == EC3_GATE_RESULT_OK);
  if (failures == before) puts("ok - ca_by_path");

  before = failures;
  char *pem = read_file(ca_file);
  CHECK(pem != NULL && strstr(pem, "-----BEGIN CERTIFICATE-----") != NULL);
  CHECK(query(pem, detail, sizeof detail) == EC3_GATE_RESULT_OK);
  free(pem);
  if (failures == before) puts("ok - ca_by_pem_text");

  before = failures;
  ec3_gate_client_options *options = options_with("/nonexistent/ca.pem");
  ec3_gate_client *client = NULL;
  CHECK(ec3_gate_client_new(options, &client) ==
        EC3_GATE_RESULT_INVALID_ARGUMENT);
  CHECK(client == NULL);
  CHECK_CONTAINS(ec3_gate_client_options_last_error(options),
                 "CA certificate: cannot read '/nonexistent/ca.pem'");
  CHECK(ec3_gate_client_options_set_ca_cert(options, NULL) ==
        EC3_GATE_RESULT_NULL_ARGUMENT);
  CHECK(ec3_gate_client_options_set_ca_cert(NULL, ca_file) ==
        EC3_GATE_RESULT_NULL_ARGUMENT);
  ec3_gate_client_options_free(options);
  if (failures == before) puts("ok - bad_ca_refused");

  return failures == 0 ? 0 : 1;
}
