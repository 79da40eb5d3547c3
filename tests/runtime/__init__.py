"""Runtime tests: store, regions, years, actions, gates, users, concurrency, CLI."""
