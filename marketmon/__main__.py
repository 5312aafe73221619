from marketmon.cli import main

raise SystemExit(main())
