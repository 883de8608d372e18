"""CloudWatch Logs facts: the retention periods the API accepts."""

from __future__ import annotations

import bisect

# PutRetentionPolicy accepts exactly these (and 0, "never expire", which is what a log group
# that AWS creates on its own gets, and what this program avoids).
RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
                  3288, 3653)


def retention_days(requested: int) -> int:
    """The shortest retention CloudWatch accepts that keeps logs at least `requested` days.

    Rounded up, never down: `logRetentionDays: 10` keeps logs 14 days rather than 7, so no
    log is gone sooner than configured.
    """
    if not 1 <= requested <= RETENTION_DAYS[-1]:
        raise ValueError(f"log retention must be 1 to {RETENTION_DAYS[-1]} days, got {requested}")
    return RETENTION_DAYS[bisect.bisect_left(RETENTION_DAYS, requested)]
