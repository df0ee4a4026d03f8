"""Alert rules of the pipeline (issue 6; the agent that runs them comes next)."""
