"""The ceiling for the ingest benchmark: Flask answering ``POST /e`` with 204 and
doing nothing else, under the same gunicorn settings as the real app."""

from flask import Flask, request

app = Flask(__name__)


@app.post("/e")
def collect():
    request.get_data()  # read the body, as the real collector does
    return "", 204
