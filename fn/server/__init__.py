"""A process serving the contract over HTTP: WSGI app, auth, settings, workers, Waitress, metrics and logs."""
