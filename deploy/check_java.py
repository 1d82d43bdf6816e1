"""Fail fast, in one line, when Java 17+ (required by PySpark 4) is missing."""

import re
import shutil
import subprocess
import sys

MIN_JAVA = 17
HINT = f"cnscore needs Java {MIN_JAVA} or newer for PySpark 4: install e.g. openjdk-{MIN_JAVA}-jre-headless"

if shutil.which("java") is None:
    sys.exit(f"java not found. {HINT}")
out = subprocess.run(["java", "-version"], capture_output=True, text=True)
match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
major = int(match.group(1)) if match else 0
if major == 1 and match and match.group(2):  # "1.8.0" style
    major = int(match.group(2))
if major < MIN_JAVA:
    sys.exit(f"java {major or 'of unknown version'} found. {HINT}")
