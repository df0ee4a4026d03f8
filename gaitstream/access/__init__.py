"""Who may talk to Kafka, and as whom: the clinic CA and broker certificate, the principal of
each component with its ACLs, and the per-station signing keys that bind a frame to its station."""
