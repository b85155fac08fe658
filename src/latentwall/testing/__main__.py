"""`python -m latentwall.testing`: the fake server as its own process (own core in benchmarks)."""

from latentwall.testing._server import main

raise SystemExit(main())
