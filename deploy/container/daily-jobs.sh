#!/bin/sh
# The scheduled jobs of the container set-up (compose service "jobs"): every hour, the day's
# reminders and retention; once a day, the audit check of the whole chain. Each job runs
# once a day however often it is started (and never twice at once), so an hourly start only
# means a late start catches up. A failure is logged as an error line and the loop goes on.
set -u
round=0
while :; do
  for job in "deadlines remind" "actions remind" "placements remind" "retention run"; do
    # shellcheck disable=SC2086
    flask $job || echo "{\"level\": \"error\", \"message\": \"daily job failed: $job\"}"
  done
  if [ $((round % 24)) -eq 0 ]; then
    flask audit verify || echo '{"level": "error", "message": "the audit chain does not verify"}'
  fi
  round=$((round + 1))
  sleep "${JOB_INTERVAL_SECONDS:-3600}"
done
