"""The bare Flask page every figure is compared with: what any Flask page on this machine,
served the same way, can approach at best."""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "hello"
