"""gunicorn settings for the portal: `gunicorn -c deploy/gunicorn.conf.py`.

Environment: BIND (default 127.0.0.1:8000, behind the TLS-terminating proxy),
WEB_CONCURRENCY (workers; default 2 per core, at least 2), and the portal's own settings
(README, "Configuration").
"""

import multiprocessing
import os

wsgi_app = "app.wsgi:app"
bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", max(2, 2 * multiprocessing.cpu_count())))
# A request that takes longer than this is stuck: the worker is replaced.
timeout = 30
graceful_timeout = 10
# Heartbeat files in memory, not on a disk that may stall (or be read-only in a container).
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 (gunicorn heartbeats)
# No access log: request paths carry single-use links (/join/<token>), and which addresses
# asked for which page is itself sensitive. Errors go to stderr, without request content.
# No runtime control socket: nothing outside the service manager may reconfigure or stop
# the workers (and its default place, the home directory, is read-only in the container).
control_socket_disable = True
accesslog = None
errorlog = "-"
loglevel = "info"
# X-Forwarded-* are trusted only from the proxy in front (the portal's own
# TRUSTED_PROXY_COUNT decides what it reads from them).
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
