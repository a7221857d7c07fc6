import sys

from baseline.server import main

sys.exit(main())
