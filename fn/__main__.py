import os
import sys

# One image, every engine: AWS Lambda (and its emulator) sets AWS_LAMBDA_RUNTIME_API; anything
# else gets the HTTP server.
if os.environ.get("AWS_LAMBDA_RUNTIME_API"):
    from fn.awslambda import main
else:
    from fn.index import main

sys.exit(main())
