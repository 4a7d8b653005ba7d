"""WSGI entry point: ``gunicorn wsgi:app`` or ``flask --app wsgi run``."""
from portal import create_app
from portal.heap import settle

app = create_app()
settle()      # jieba loaded ahead of the first search, then the long-lived heap frozen (portal/heap.py)
