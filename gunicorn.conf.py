"""gunicorn's settings wherever the web process runs (the Dockerfile's and docker-compose's
`gunicorn`, the benches): gunicorn reads this file from its working directory by itself; the
command line (`--workers`, `--bind`) still says the rest.

Threads: a landing page's form POST spends most of its time waiting, on the commit's WAL flush
above all. A sync worker waits with it; a threaded one answers other requests meanwhile, and
the commits of its threads share one flush (PostgreSQL's group commit). Each thread keeps its
own database connection (CONN_MAX_AGE), so the web tier holds WEB_CONCURRENCY × WEB_THREADS
of them.
"""

import os

worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "8"))
# One request per connection, as the sync workers served them: production sits behind a
# TLS-terminating proxy, which (nginx's default) opens a connection per request upstream, so
# idle keep-alive connections would only hold threads.
keepalive = 0
