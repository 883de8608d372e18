"""Support calendars of the software the program deploys, judged on a given day (pure data and rules)."""
