"""Session reports: figures, rendering, FHIR export, the report service."""
