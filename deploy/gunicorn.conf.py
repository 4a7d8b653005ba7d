"""gunicorn settings for the production mode (`make serve`, docs/production.md).

Every value can be changed by the environment: PORTAL_BIND, PORTAL_WORKERS, PORTAL_THREADS.
"""
import multiprocessing
import os

bind = os.environ.get("PORTAL_BIND", "127.0.0.1:8000")
workers = int(os.environ.get("PORTAL_WORKERS", multiprocessing.cpu_count() * 2 + 1))
worker_class = "gthread"
threads = int(os.environ.get("PORTAL_THREADS", "4"))
timeout = 30                      # a worker stuck longer is killed and replaced
graceful_timeout = 20
keepalive = 5
max_requests = 5000               # recycle workers now and then (a slow leak never grows)
max_requests_jitter = 500
# the app is imported in each worker (no preload): every worker opens its own database pool
preload_app = False
accesslog = "-"
errorlog = "-"
# the path without the query string: nothing a citizen typed reaches the access log
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
forwarded_allow_ips = os.environ.get("PORTAL_FORWARDED_ALLOW_IPS", "127.0.0.1")
proc_name = "portal"
