"""Build step for the one C extension; every other setting is in pyproject.toml.

``wormlab.detect._linescan`` is the log scanner's fast path. It is optional: where it cannot be
compiled (no C compiler or Python headers), the install goes on and the log reader uses the
Numba kernel instead, with the same results.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "wormlab.detect._linescan",
            sources=["src/wormlab/detect/_linescan.c"],
            optional=True,
        )
    ]
)
