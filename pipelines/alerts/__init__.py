"""Alert rules of the pipeline (pure); the status agent runs them on every step."""
