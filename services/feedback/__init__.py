"""The patient feedback screen: schedules, the live page, what was shown."""
