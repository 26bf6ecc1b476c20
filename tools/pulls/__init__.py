"""Pull requests for fixes: open one per error signature, list them with their checks, follow their state,
merge the low-risk ones and revert a merged fix that made things worse.

Layers, top down (each imports only those below it):

    service.py          PullRequestService, the entry point: opens, lists, syncs (muting the signatures of
                        pull requests closed unmerged), posts verdicts, runs merges/reverts under one lock
    opener.py           the open rules: dedup (signature, branch, same diff), evidence, secret scan, caps
                        reserved in ledger.py, create; a dry run only says what it would open
    verdict_comment.py  a measure_impact verdict as a ten-second comment
    merger.py           Merger: merge a pull request the policy allows, open a revert; audited
    memory_link.py      pull-request state into the findings memory (link, sync)
    provider_choice.py  which provider serves a repo (pr_provider + the repo's forge)
    merge_policy.py     the auto-merge rules as pure functions (merge_paths.py: path predicates,
                        merge_config.py: the [auto_merge] table)
    merge_audit.py      the merge audit trail (pulls.db); records.py: pulls.db's pull requests
    ledger.py           pulls.db beside them: diff fingerprints, linked signatures, open reservations (the
                        caps across processes), posted verdicts, local comments; diff_fingerprint.py
    scratch_repo.py     git plumbing for merges and reverts, never in the user's checkout
    providers/          where pull requests live: base.py (the PullProvider protocol), registry.py
                        (name -> factory), one module per provider (local, github, gitlab)

Add a PR provider: a class implementing `providers/base.PullProvider` in `providers/<name>.py`, and a
`register(ProviderSpec(...))` in `providers/registry.py`. Nothing else changes.
"""
