"""The fleet simulation: from one measured replica to a fleet under a traffic shape and a
scaling policy, request by request (engine) or in aggregate (aggregate), checked against real
runs (validate), written up as docs/scaling.md (report). `python -m scripts.simulate` runs it all."""
