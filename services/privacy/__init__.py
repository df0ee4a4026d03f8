"""Patients' rights (GDPR art. 15, 17, 20) and retention: export everything held about one
pseudonym, erase it from every store, and delete what is older than each data kind's retention."""
