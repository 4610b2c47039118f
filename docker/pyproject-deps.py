"""Print the pinned runtime dependencies of pyproject.toml, one per line.

The Dockerfile installs these in a layer of their own before copying the
source, so editing the code does not re-download every wheel.
"""

import sys
import tomllib

with open(sys.argv[1] if len(sys.argv) > 1 else "pyproject.toml", "rb") as f:
    project = tomllib.load(f)["project"]
for requirement in project.get("dependencies", []):
    print(requirement)
