"""Session reports: what one treadmill session measured, as figures (pure), as a
PDF and an HTML page, and as a FHIR Bundle; made when a session stops and on demand."""
