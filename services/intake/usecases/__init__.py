"""Intake's use cases, one module per flow: what the HTTP API and the employer pages both call,
so that nothing is written twice."""
