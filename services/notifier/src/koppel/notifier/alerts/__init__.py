"""Alerts: per-tenant rules and channels, folding of storms, an outbox of deliveries sent by a
worker (e-mail over SMTP, signed webhooks) with retries, digests and a silent-flow check.

How it fits together:

* ``handlers.py`` (the notifier's) binds :func:`decide.on_event`: it matches the tenant's
  rules (kept in memory by ``config_cache``), folds repeats (``domain.fold``) and writes an
  ``alerts`` row plus one ``alert_deliveries`` row per channel, with the inbox row, in the
  handler's own transaction (the outbox).
* ``sender.Sender`` claims due deliveries, renders them (``texts``) and sends them through
  ``channels``; every attempt is logged in ``alert_attempts``; failures retry with backoff.
* ``scheduler.tick`` runs periodically: silent flows, closed fold windows with a count, and
  due digests.
"""
