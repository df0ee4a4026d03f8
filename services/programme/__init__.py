"""The therapy programme (issue 19): exercise library, programmes per patient, suggestions, reports."""
