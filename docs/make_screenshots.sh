#!/usr/bin/env bash
# Refresh the screenshots the READMEs show (docs/screenshot-*.png, English and Chinese): runs the
# real-browser app tests with their screenshots pointed here. The normal test run writes them to
# test-results/ instead, so running the tests never rewrites tracked files.
set -euo pipefail
cd "$(dirname "$0")/.."
LIPSYNC_SCREENSHOTS=docs .venv/bin/python -m pytest -q tests/test_app.py -k browser
LIPSYNC_SCREENSHOTS=docs .venv/bin/python -m pytest -q tests/test_chinese_ui.py
