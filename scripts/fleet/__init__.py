"""The fleet simulation, a library: from one measured replica to a fleet under a traffic shape and
a scaling policy, request by request (engine, traffic, policies), each platform's own cold start
(coldstarts), the whole bill (prices, cost), the grid it runs (grid), the decision drawn from it
(decide) and the checks against real runs (validate); report, tables and charts render
docs/scaling.md from docs/bench/simulation.json. `python -m scripts.simulate` measures, then
`--render` renders."""
