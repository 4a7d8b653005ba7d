"""The ceiling for bench/bench_load.py: a bare Flask endpoint under the same gunicorn settings."""
from flask import Flask

app = Flask(__name__)


@app.get("/")
def index():
    return "ok"
