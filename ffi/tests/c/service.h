/*
 * What the C programs run against the local job service (the ec3-sim
 * simulator, started by ffi/tests/support/mod.rs) share: their arguments,
 * the clock, time limits scaled for valgrind, run-unique job ids and a
 * client with a token.
 * Include it after support.h, with _POSIX_C_SOURCE 200809L defined.
 */
#ifndef EC3_GATE_TEST_SERVICE_H
#define EC3_GATE_TEST_SERVICE_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *base_url;
static const char *tag;
static const char *version;
static double slowness = 1.0;

/* What the service expects in a job creation: the quote and the non-ASCII
 * letter check the request's JSON encoding. */
#define PROJECT_NAME "Tower \"A\" \xc3\x9c" "ber"
#define EC3_TOKEN "ec3-s3cr3t-token"

/* Reads BASE_URL TAG VERSION [SLOWNESS], the arguments ffi/tests/support/mod.rs
 * passes first. Prints USAGE and returns 0 when fewer than NEEDED are given. */
static inline int read_arguments(int argc, char **argv, int needed,
                                 const char *usage) {
  if (argc < needed || argc < 4) {
    fprintf(stderr, "usage: %s %s\n", argv[0], usage);
    return 0;
  }
  base_url = argv[1];
  tag = argv[2];
  version = argv[3];
  if (argc > 4) {
    slowness = atof(argv[4]);
  }
  return 1;
}

static inline uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static inline void sleep_ms(unsigned ms) {
  struct timespec ts;
  ts.tv_sec = ms / 1000;
  ts.tv_nsec = (long)(ms % 1000) * 1000000L;
  nanosleep(&ts, NULL);
}

static inline uint64_t limit_ms(unsigned ms) {
  return (uint64_t)(ms * slowness);
}

/* A job id unique to this run: PREFIX-TAG-NAME. */
static inline const char *job_id(char *buf, size_t size, const char *prefix,
                                 const char *name) {
  snprintf(buf, size, "%s-%s-%s", prefix, tag, name);
  return buf;
}

/* Options for the service with an access token; the caller frees them. */
static inline ec3_gate_client_options *options_with_token(const char *token) {
  ec3_gate_client_options *options = ec3_gate_client_options_new();
  CHECK(options != NULL);
  CHECK_CODE(ec3_gate_client_options_set_api_url(options, base_url),
             EC3_GATE_RESULT_OK);
  CHECK_CODE(ec3_gate_client_options_set_access_token(options, token),
             EC3_GATE_RESULT_OK);
  return options;
}

static inline ec3_gate_client *client_with_token(const char *token) {
  ec3_gate_client_options *options = options_with_token(token);
  ec3_gate_client *client = NULL;
  CHECK_CODE(ec3_gate_client_new(options, &client), EC3_GATE_RESULT_OK);
  ec3_gate_client_options_free(options);
  return client;
}

#endif /* EC3_GATE_TEST_SERVICE_H */
