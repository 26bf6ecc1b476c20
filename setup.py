"""Maps the top-level folders onto the one import namespace `self_improver`.

`server/` becomes `self_improver.server`, `tools/` becomes `self_improver.tools`, and so on, so the
repository keeps a flat, readable layout while users import a single package. Everything else is
declared in pyproject.toml.
"""

from setuptools import find_packages, setup

TOP_LEVEL = ("server", "tools", "prompts", "examples")

packages = []
for top in TOP_LEVEL:
    packages.append(f"self_improver.{top}")
    packages += [f"self_improver.{top}.{sub}" for sub in find_packages(top)]

setup(packages=packages, package_dir={f"self_improver.{top}": top for top in TOP_LEVEL})
