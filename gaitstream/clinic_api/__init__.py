"""Talking to the clinic API (the alerts service's HTTP API) from the command line: its client and
the options every client command shares. Public: the services' command lines use it, so that none
of them reaches into another service's private names."""
