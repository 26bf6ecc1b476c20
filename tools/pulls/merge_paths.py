"""Which paths a pull request touches, in the policy's terms: dependency/build/CI files, tests, and the
`allowed_paths` globs of `[auto_merge]`. Pure string functions; the rules in `merge_policy.py` use them.
"""

from __future__ import annotations

from fnmatch import fnmatchcase

# Fixed: dependency manifests, lock files, build and CI configuration, matched case-insensitively at any depth.
DEPENDENCY_AND_CI_NAMES = (
    "requirements*.txt",
    "requirements*.in",
    "constraints*.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "pipfile",
    "pipfile.lock",
    "*.lock",
    "poetry.lock",
    "environment.yml",
    "environment.yaml",
    "package.json",
    "package-lock.json",
    "npm-shrinkwrap.json",
    "yarn.lock",
    "pnpm-lock.yaml",
    "pnpm-workspace.yaml",
    ".npmrc",
    "go.mod",
    "go.sum",
    "go.work",
    "cargo.toml",
    "cargo.lock",
    "gemfile",
    "*.gemspec",
    "composer.json",
    "pom.xml",
    "build.gradle",
    "build.gradle.kts",
    "settings.gradle",
    "settings.gradle.kts",
    "dockerfile",
    "dockerfile.*",
    "*.dockerfile",
    "containerfile",
    "docker-compose*.yml",
    "docker-compose*.yaml",
    "compose.yml",
    "compose.yaml",
    "makefile",
    "gnumakefile",
    "*.mk",
    "tox.ini",
    "noxfile.py",
    ".pre-commit-config.yaml",
    ".pre-commit-hooks.yaml",
    "jenkinsfile",
    ".gitlab-ci.yml",
    ".travis.yml",
    "azure-pipelines.yml",
    "bitbucket-pipelines.yml",
    ".drone.yml",
    "appveyor.yml",
    ".gitmodules",
    "codeowners",
)
DEPENDENCY_AND_CI_DIRS = (
    ".github",
    ".gitlab",
    ".circleci",
    ".buildkite",
    ".azure-pipelines",
    ".devcontainer",
    "requirements",
    ".git",
)
TEST_DIRS = ("tests", "test", "__tests__")
TEST_NAMES = (
    "test_*.py",
    "*_test.py",
    "*_test.go",
    "*.test.js",
    "*.test.jsx",
    "*.test.ts",
    "*.test.tsx",
    "*.spec.js",
    "*.spec.ts",
    "*_spec.rb",
)


def is_dependency_or_ci(path: str) -> bool:
    parts = path.lower().split("/")
    return any(d in parts[:-1] for d in DEPENDENCY_AND_CI_DIRS) or any(
        fnmatchcase(parts[-1], name) for name in DEPENDENCY_AND_CI_NAMES
    )


def is_test_path(path: str) -> bool:
    parts = path.split("/")
    return any(d in parts[:-1] for d in TEST_DIRS) or any(fnmatchcase(parts[-1], n) for n in TEST_NAMES)


def path_allowed(path: str, patterns: list[str]) -> str | None:
    """The allowed_paths pattern `path` matches (case-sensitive), or None.

    'dir/' allows everything under that directory of the root; a pattern with '/' matches the whole
    path ('*' crosses '/', 'src/**/*.py' also matches 'src/a.py'); a bare pattern matches the file name.
    """
    for raw in patterns:
        pattern = raw.strip().removeprefix("./").lstrip("/")
        if not pattern:
            continue
        if pattern.endswith("/"):
            if path.startswith(pattern):
                return raw
        elif "/" in pattern:
            if fnmatchcase(path, pattern) or fnmatchcase(path, pattern.replace("**/", "")):
                return raw
        elif fnmatchcase(path.rsplit("/", 1)[-1], pattern):
            return raw
    return None
