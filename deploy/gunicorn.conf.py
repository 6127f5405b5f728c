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

# Workers end with their master. A master killed outright (OOM killer, `kill -9`, a crash)
# cannot stop its workers, and a sync worker notices that its parent is gone only when it
# looks up from the listening socket: after a request, or every timeout / 2 = 15 s. Until
# then it keeps the port, so the instance that replaces the master cannot bind it, and a
# worker with nobody to time it out may serve on. Linux sends the signal chosen here to a
# process the moment its parent dies; SIGTERM is a worker's graceful stop (it finishes the
# request in hand; gthread workers within graceful_timeout). Elsewhere the old, slower
# check remains, and systemd's KillMode (deploy/systemd/utvag-web.service) cleans up.
PR_SET_PDEATHSIG = 1


def post_fork(server, worker):
    import ctypes
    import signal
    import sys

    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        server.log.warning("workers will not end with their master: prctl failed")
        return
    # The master may have died between the fork and the prctl: then nobody sends it.
    if os.getppid() != server.pid:
        os.kill(os.getpid(), signal.SIGTERM)
