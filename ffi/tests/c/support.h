/*
 * What every test program in ffi/tests/c shares: the failure count, the
 * CHECK macros and the scenario runner. Valid C11 and C++17; include it once,
 * after ec3_gate.h. A failed check prints FILE:LINE and what it saw, counts
 * one failure and lets the scenario go on.
 */
#ifndef EC3_GATE_TEST_SUPPORT_H
#define EC3_GATE_TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#ifdef __cplusplus
#include <string>
#endif

static int failures;

static inline void fail_at(const char *file, int line, const char *format,
                           ...) {
  va_list args;
  fprintf(stderr, "  %s:%d: ", file, line);
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fputc('\n', stderr);
  failures++;
}

static inline void check_code(const char *file, int line, const char *expr,
                              ec3_gate_result got, ec3_gate_result want) {
  if (got != want) {
    fail_at(file, line, "%s gave %u (%s), want %u (%s)", expr, (unsigned)got,
            ec3_gate_strerror(got), (unsigned)want, ec3_gate_strerror(want));
  }
}

static inline void check_str(const char *file, int line, const char *expr,
                             const char *got, const char *want) {
  if (got == NULL || strcmp(got, want) != 0) {
    fail_at(file, line, "%s is \"%s\", want \"%s\"", expr,
            got ? got : "(NULL)", want);
  }
}

static inline void check_contains(const char *file, int line,
                                  const char *expr, const char *got,
                                  const char *part) {
  if (got == NULL || strstr(got, part) == NULL) {
    fail_at(file, line, "%s is \"%s\", want it to contain \"%s\"", expr,
            got ? got : "(NULL)", part);
  }
}

#ifdef __cplusplus
/* The C++ program builds some expected texts as std::string. */
static inline void check_str(const char *file, int line, const char *expr,
                             const char *got, const std::string &want) {
  check_str(file, line, expr, got, want.c_str());
}
#endif

#define CHECK(cond)                                                            \
  do {                                                                         \
    if (!(cond)) fail_at(__FILE__, __LINE__, "check failed: %s", #cond);       \
  } while (0)
#define CHECK_CODE(expr, want)                                                 \
  check_code(__FILE__, __LINE__, #expr, (expr), (want))
#define CHECK_STR(got, want) check_str(__FILE__, __LINE__, #got, (got), (want))
#define CHECK_CONTAINS(got, part)                                              \
  check_contains(__FILE__, __LINE__, #got, (got), (part))

/* One named scenario of a program. */
struct scenario {
  const char *name;
  void (*run)(void);
};

/* Runs each scenario in turn, printing "ok - NAME" or "not ok - NAME";
 * returns the exit status: 0 only when all passed. */
static inline int run_scenarios(const struct scenario *list, size_t count) {
  size_t i;
  int failed = 0;
  for (i = 0; i < count; i++) {
    int before = failures;
    list[i].run();
    printf("%s - %s\n", failures == before ? "ok" : "not ok", list[i].name);
    fflush(stdout);
    failed |= failures != before;
  }
  return failed ? 1 : 0;
}

/* One entry of a scenario table: the function test_NAME, reported as NAME. */
#define SCENARIO(name) {#name, test_##name},

#define RUN_SCENARIOS(list) run_scenarios(list, sizeof list / sizeof list[0])

#endif /* EC3_GATE_TEST_SUPPORT_H */
