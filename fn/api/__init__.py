"""The contract without HTTP: the data plane, errors, options, each protocol's codec, routes, OpenAPI, CSV, the page."""
