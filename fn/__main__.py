"""python -m fn: the function's HTTP entry (fn/index.py); under AWS Lambda (and its emulator), which
sets AWS_LAMBDA_RUNTIME_API, its Runtime API loop (fn/awslambda.py); `python -m fn batch ...` prices
a CSV instead (fn/batch.py). So the image's own entrypoint does all three:
docker run --rm -i device-price-fn:latest batch - < in.csv > out.csv"""

import os
import sys

if sys.argv[1:2] == ["batch"]:
    from fn.batch import main as batch

    sys.exit(batch(sys.argv[2:]))

if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
    from fn.awslambda import main
else:
    from fn.index import main

sys.exit(main())
