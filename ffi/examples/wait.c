/*
 * wait.c: wait for an EC3 upload job from C with libec3_gate, or create a
 * (report-based) job first and then wait for it.
 *
 *   ITWIN_ACCESS_TOKEN=... ./wait JOB_ID
 *   ITWIN_ACCESS_TOKEN=... EC3_BEARER_TOKEN=... ./wait --create CONFIG_ID NAME
 *
 * Optional: ITWIN_API_URL (default https://api.bentley.com) and
 * EC3_INTERVAL_MS (poll interval, default 5000). Prints the EC3 project link
 * on success; progress and errors go to stderr. The exit status is the
 * result code, which for 0-7 is the ec3-gate command's exit status: 0
 * succeeded, 1 failed, 2 bad arguments, 3 timed out, 4 authentication
 * refused, 5 not found, 6 service or network error, 7 request rejected.
 */
#include <ec3_gate.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Called on this thread at each status change and before each retry. */
static void on_progress(const ec3_gate_progress *event, void *user_data) {
  const char *job_id = (const char *)user_data;
  if (event->kind == EC3_GATE_PROGRESS_KIND_STATUS_CHANGED) {
    fprintf(stderr, "%s: %s after %llu ms\n", job_id,
            ec3_gate_status_name(event->status),
            (unsigned long long)event->elapsed_ms);
  } else if (event->kind == EC3_GATE_PROGRESS_KIND_RETRYING) {
    fprintf(stderr, "%s: retrying in %llu ms: %s\n", job_id,
            (unsigned long long)event->retry_in_ms, event->detail);
  }
}

int main(int argc, char **argv) {
  const char *token = getenv("ITWIN_ACCESS_TOKEN");
  const char *api_url = getenv("ITWIN_API_URL");
  const char *interval = getenv("EC3_INTERVAL_MS");
  const char *ec3_token = getenv("EC3_BEARER_TOKEN");
  int create = argc == 4 && strcmp(argv[1], "--create") == 0;
  uint64_t interval_ms = EC3_GATE_DEFAULT_INTERVAL_MS;
  ec3_gate_client_options *options;
  ec3_gate_client *client = NULL;
  ec3_gate_job *job = NULL;
  char *created = NULL; /* a job id we own, once created */
  char *job_id = argv[1];
  ec3_gate_result rc;

  if (!(argc == 2 || (create && ec3_token != NULL)) || token == NULL) {
    fprintf(stderr,
            "usage: ITWIN_ACCESS_TOKEN=... %s JOB_ID\n"
            "       ... EC3_BEARER_TOKEN=... %s --create CONFIG_ID NAME\n",
            argv[0], argv[0]);
    return 2;
  }
  if (interval != NULL) {
    interval_ms = strtoull(interval, NULL, 10);
  }

  /* Options are copied into the client: free them right after. */
  options = ec3_gate_client_options_new();
  rc = ec3_gate_client_options_set_access_token(options, token);
  if (rc == EC3_GATE_RESULT_OK && api_url != NULL) {
    rc = ec3_gate_client_options_set_api_url(options, api_url);
  }
  if (rc == EC3_GATE_RESULT_OK) {
    rc = ec3_gate_client_new(options, &client);
  }
  if (rc != EC3_GATE_RESULT_OK) {
    fprintf(stderr, "error: %s\n", ec3_gate_client_options_last_error(options));
    ec3_gate_client_options_free(options);
    return 2;
  }
  ec3_gate_client_options_free(options);

  if (create) {
    /* Fields left 0 or NULL take their defaults: no extraction id (a
     * report-based job), the default timeout, no cancel handle. */
    ec3_gate_create_job_params job_params = {.struct_size = sizeof job_params};
    job_params.configuration_id = argv[2];
    job_params.project_name = argv[3];
    job_params.ec3_token = ec3_token;
    rc = ec3_gate_client_create_job_with(client, &job_params, &created);
    if (rc == EC3_GATE_RESULT_OK) {
      fprintf(stderr, "created job %s\n", created);
      job_id = created;
    }
  }
  if (rc == EC3_GATE_RESULT_OK) {
    ec3_gate_wait_params wait_params = {.struct_size = sizeof wait_params};
    wait_params.interval_ms = interval_ms;
    wait_params.progress = on_progress;
    wait_params.user_data = job_id;
    rc = ec3_gate_client_wait_with(client, job_id, &wait_params, &job);
  }
  if (rc == EC3_GATE_RESULT_OK) {
    const char *link = ec3_gate_job_ec3_project_url(job);
    printf("%s\n", link != NULL ? link : "(no EC3 project link)");
  } else if (rc == EC3_GATE_RESULT_JOB_FAILED) {
    const char *message = ec3_gate_job_message(job);
    fprintf(stderr, "job failed: %s\n", message != NULL ? message : "(no reason)");
  } else {
    /* strerror gives the category, last_error the details; the service's
     * answer is also there as values (NULL or 0 when there was none). */
    const char *code = ec3_gate_client_last_error_service_code(client);
    fprintf(stderr, "error (%s): %s\n", ec3_gate_strerror(rc),
            ec3_gate_client_last_error(client));
    if (code != NULL) {
      fprintf(stderr, "HTTP %u, service code %s\n",
              (unsigned)ec3_gate_client_last_error_http_status(client), code);
    }
    if (rc == EC3_GATE_RESULT_TIMED_OUT && job != NULL) {
      fprintf(stderr, "last status: %s\n", ec3_gate_job_status_text(job));
    }
  }

  ec3_gate_job_free(job);        /* NULL when the wait gave no job: a no-op */
  ec3_gate_string_free(created); /* likewise */
  ec3_gate_client_free(client);
  return rc <= EC3_GATE_RESULT_REJECTED ? (int)rc : 70;
}
