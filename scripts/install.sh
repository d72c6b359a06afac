#!/usr/bin/env bash
# Install wormlab into the active Python environment.
#   bash scripts/install.sh        the package and its command `wormlab`
#   bash scripts/install.sh test   the same plus the test tools and, for the browser tests,
#                                  Debian's chromium (installed with apt-get when run as root)
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
if [ "${1:-}" = "test" ]; then
    if [ ! -x /usr/bin/chromium ]; then
        if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
            echo "installing Debian's chromium for the browser tests ..." >&2
            apt-get update -qq
            DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
        else
            echo "note: /usr/bin/chromium is missing and this is not root; browser tests will be skipped" >&2
        fi
    fi
    "$python" -m pip install -q -e '.[test]'
else
    "$python" -m pip install -q -e .
fi
