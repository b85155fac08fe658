from latentwall.cli import main

raise SystemExit(main())
