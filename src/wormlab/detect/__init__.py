"""The defender's side: find Code Red and its kin in web logs and packet captures.

Logs and pcaps flow through readers (``log_reader``, ``pcap_reader``) into ``Request`` records;
signatures loaded as data (``signatures``) turn matching requests into sightings; ``sightings``
aggregates them per source and per hour; ``inference`` estimates the global outbreak from what one
monitored block saw. Nothing here imports the simulation engine, and nothing read from a log is
ever executed or passed to a shell.
"""
