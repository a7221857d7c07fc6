import sys

from fn.index import main

sys.exit(main())
