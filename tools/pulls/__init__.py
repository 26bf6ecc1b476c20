"""Pull requests for fixes: open one per error signature, list them with their checks, follow their state.

Two providers behind one interface: `github` (PyGithub, GitHub or GitHub Enterprise) and `local` (the
branch is pushed to a configured or data-dir bare remote and the pull request is a row in `pulls.db`).
`service.PullRequestService` is the entry point: dedup by signature, caps, evidence, secret scan,
retries and the link to the findings memory live there or in the modules it composes.
"""
