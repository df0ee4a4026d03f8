"""The patient feedback screen (issue 18): schedules, the live page, what was shown."""
