#!/usr/bin/env node
// The Node baseline of bench/run.sh: what a user would write on Bentley's own client,
// `EC3JobsClient` of @itwin/insights-client, instead of running ec3-gate.
//
//   node ec3.js status JOB_ID          print the status word (exit 0)
//   node ec3.js wait JOB_ID [MS]       poll every MS ms (default 5000) until Succeeded (exit 0)
//                                      or Failed (exit 1); gives up after 60 s (exit 3)
//
// Env: ITWIN_API_URL (API root, default https://api.bentley.com), ITWIN_ACCESS_TOKEN.
// The client takes its base path (`…/insights/carbon-calculation`) in its constructor; it
// sends `Authorization` verbatim, so the caller adds `Bearer `. Requests go through
// cross-fetch (node-fetch 2 in Node), with the client's own retries (at most 3 attempts).
"use strict";

const { EC3JobsClient } = require("@itwin/insights-client");

const DEADLINE_MS = 60_000;
const MAX_POLLS = 10_000;

async function main() {
  const [command, jobId, intervalArg] = process.argv.slice(2);
  const apiUrl = (process.env.ITWIN_API_URL || "https://api.bentley.com").replace(/\/+$/, "");
  const token = process.env.ITWIN_ACCESS_TOKEN;
  if (!jobId || !token || (command !== "status" && command !== "wait")) {
    console.error("usage: ec3.js status|wait JOB_ID [INTERVAL_MS]  (ITWIN_ACCESS_TOKEN set)");
    return 2;
  }
  const client = new EC3JobsClient(`${apiUrl}/insights/carbon-calculation`);
  const auth = token.startsWith("Bearer ") ? token : `Bearer ${token}`;
  if (command === "status") {
    const job = await client.getEC3JobStatus(auth, jobId);
    console.log(job.status);
    return 0;
  }
  const interval = Number(intervalArg ?? 5000);
  const deadline = Date.now() + DEADLINE_MS;
  for (let poll = 0; poll < MAX_POLLS && Date.now() < deadline; poll++) {
    const job = await client.getEC3JobStatus(auth, jobId);
    if (job.status === "Succeeded" || job.status === "Failed") {
      console.log(job.status);
      return job.status === "Succeeded" ? 0 : 1;
    }
    await new Promise((resolve) => setTimeout(resolve, interval));
  }
  console.error(`ec3.js: job ${jobId} still unfinished after ${DEADLINE_MS} ms`);
  return 3;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    // The client throws the raw Response on HTTP errors.
    const detail = err && err.status ? `HTTP ${err.status}` : String(err);
    console.error(`ec3.js: ${detail}`);
    process.exitCode = 6;
  },
);
