"""python -m fn: the function's HTTP entry (fn/index.py); `python -m fn batch ...` prices a CSV
instead (fn/batch.py), so the image's own entrypoint does both:
docker run --rm -i device-price-fn:latest batch - < in.csv > out.csv"""

import sys

if sys.argv[1:2] == ["batch"]:
    from fn.batch import main as batch

    sys.exit(batch(sys.argv[2:]))

from fn.index import main

sys.exit(main())
