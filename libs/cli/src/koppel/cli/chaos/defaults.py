"""Default size and time scale of ``koppel chaos`` (and why they are what they are).

Size: the issue asked for 2,000 orders and 2,000 articles, which does not finish in a few
minutes on a 2-core machine: eleven processes share the cores, every SIGKILLed service takes
15-25 s to come back, and the products flow is bounded by eAccounting's real limit of 600
requests a minute per endpoint (the catalog's limiter and the sandbox's both run in real
time), so 2,000 article creations alone need 3.5 minutes. 400 + 400 takes about five
minutes here; pass ``--orders 2000 --articles 2000 --duration-limit 1800`` for the full size.

Time scale: every retry delay is multiplied by it, so the whole retry budget of a message
(1 s + 10 s + 1 min + 5 min + 30 min, about 2,170 s) becomes 2,170 x scale seconds. It must
outlast the longest outage of an upstream (AccountView down, 429 storms) the chaos causes.
0.02 (43 s) parked ensure-customer commands with "the gateway could not be reached"; 0.05
gives 108 s. Since then outages of our own infrastructure (gateway unreachable, service not
started) and consumers killed holding a message no longer use up that budget (see
``handling.OUTAGE_REASONS`` and ``RetryPolicy.max_redeliveries``): three runs in a row
passed at 0.05 (README, "Chaos suite").
"""

DEFAULT_RECORDS = 400
DEFAULT_TIME_SCALE = 0.05
