"""The worker agent: a process with its own wallet that works for a pool of a SuperEdge site.

It asks the site's worker API for replicates, downloads and checks their files, runs the app in
a WebAssembly sandbox, uploads the result archive and proves it on chain. It imports no Django
and nothing of the site, and talks to the site over HTTP only, so a pool's operator installs it
alone (`pip install ./worker`) and runs it with `python -m worker`; the site runs the same agent
with `manage.py run_worker`.

The site imports the pure parts it shares with the agent, never the other way round:
command_line (a task's argv), failures (why a run failed), results (the result archive),
limits (what a run may consume), addresses (where a worker may download from), inspection (is
an upload a WASI command), datasets (the encrypted dataset file), protocol (the Hub's statuses
and a result's commitments), stopping (signals).
"""
