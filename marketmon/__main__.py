from marketmon.cli.main import main

raise SystemExit(main())
