"""What the tests and the benchmarks share: the local Hub (a stand-in for the Hugging Face Hub on
127.0.0.1), the real app run on a loopback port, realistic pictures and pen strokes, and the
helpers that drive the page in headless Chromium.

Its own package so that `bench/` holds only benchmarks and `tests/` only tests, and neither has
to reach into the other. The app and the library never import it (tests/test_layers.py checks);
it may import the library.
"""
