"""Benchmarks that compare rustlette with starlette and with bare ASGI apps."""
