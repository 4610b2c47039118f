"""Print the pinned runtime dependencies of pyproject.toml, one per line.

    python3 pyproject-deps.py [pyproject.toml] [--extra NAME]... [--without PACKAGE]...

The main dependency list, plus each named optional extra, less the packages
named with --without (the image takes `load` for `rekap loadtest`'s aiohttp,
but not locust, which only people at a desk run). The Dockerfile installs
these in a layer of their own before copying the source, so editing the code
does not re-download every wheel.
"""

import argparse
import re
import tomllib


def name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("pyproject", nargs="?", default="pyproject.toml")
    parser.add_argument("--extra", action="append", default=[], help="an optional-dependencies group")
    parser.add_argument("--without", action="append", default=[], help="leave this package out")
    args = parser.parse_args()
    with open(args.pyproject, "rb") as f:
        project = tomllib.load(f)["project"]
    requirements = list(project.get("dependencies", []))
    extras = project.get("optional-dependencies", {})
    for extra in args.extra:
        if extra not in extras:
            parser.error(f"no optional dependency group {extra!r} in {args.pyproject}")
        requirements += extras[extra]
    skip = {name(p) for p in args.without}
    for requirement in requirements:
        if name(requirement) not in skip:
            print(requirement)


if __name__ == "__main__":
    main()
