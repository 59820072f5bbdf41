"""The gateway's use cases, one module per area. Each function takes the ``Gateway`` context
and a unit of work; routes, handlers and the scheduler only call these."""
