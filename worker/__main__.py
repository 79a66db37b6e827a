"""`python -m worker --help`: a worker agent for a pool of a SuperEdge site (worker.cli)."""

from worker.cli import main

raise SystemExit(main())
