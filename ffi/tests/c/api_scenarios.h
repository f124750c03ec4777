/*
 * The scenarios api_test.c and api_test.cpp both run, in this order: each
 * NAME is a function test_NAME in each program, and ffi/tests/c_api.rs wants
 * "ok - NAME" for each. One list, so the C and C++ programs cannot drift.
 */
#ifndef EC3_GATE_TEST_API_SCENARIOS_H
#define EC3_GATE_TEST_API_SCENARIOS_H

#define API_SCENARIOS(X) \
  X(version) \
  X(success_with_link) \
  X(failure_with_message) \
  X(not_found) \
  X(auth_refused) \
  X(client_credentials) \
  X(status_once) \
  X(timeout) \
  X(cancel_stalled_server) \
  X(cancel_long_interval) \
  X(cancel_from_callback) \
  X(progress_order) \
  X(retry_progress) \
  X(threads_share_a_client) \
  X(create_then_wait) \
  X(create_rejected) \
  X(create_retried_when_busy) \
  X(create_cancelled_and_refused) \
  X(create_null_and_invalid_arguments) \
  X(null_and_invalid_arguments)

#endif /* EC3_GATE_TEST_API_SCENARIOS_H */
