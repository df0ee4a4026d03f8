"""The therapy programme: exercise library, programmes per patient, suggestions, reports."""
